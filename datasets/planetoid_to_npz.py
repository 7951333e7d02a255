#!/usr/bin/env python3
"""Converts a Planetoid dataset (GCN format) into an .npz for `tiergnn import npz`.

Reads DIR/ind.NAME.{x,y,tx,ty,allx,ally,graph,test.index} (Python pickles of scipy CSR matrices,
one-hot numpy label arrays and a dict-of-lists adjacency, from kimiyoung/planetoid) and follows
the `load_data` logic of Kipf & Welling's GCN (tkipf/gcn, gcn/utils.py):

  features = vstack(allx, tx), rows of the test nodes put back at their test.index positions;
  labels   = argmax of vstack(ally, ty), reordered the same way; an all-zero one-hot row is -1;
  train    = range(len(y)), valid = range(len(y), len(y) + 500), test = sorted(test.index).

CiteSeer's test.index has gaps (15 isolated nodes without features or labels): as in GCN, the
test block is widened to the full index range and the missing rows get zero features and label -1.
The adjacency is symmetrised (each listed neighbour becomes an edge in both directions); self-loops
and duplicates are left in and removed, or not, by the importer.

Output (np.savez, uncompressed): edge_index (2 x E int64), node_feat (N x D float32),
node_label (N int64), train_idx / valid_idx / test_idx (int64), num_nodes (int64 scalar).

Usage: planetoid_to_npz.py DIR NAME OUT.npz
Exit status 0 on success, 2 for bad input (one line on stderr: "path: problem"), 3 when numpy or
scipy cannot be imported.
"""
import os
import pickle
import sys
import warnings


def fail(path, problem, status=2):
    sys.stderr.write("%s: %s\n" % (path, problem))
    sys.exit(status)


try:
    import numpy as np
    import scipy.sparse as sp
except ImportError as e:  # pragma: no cover - depends on the machine
    fail("python3", "cannot import numpy/scipy (%s); install them with "
         "`python3 -m pip install numpy scipy`" % e, 3)


def load_pickle(path):
    if not os.path.exists(path):
        fail(path, "missing")
    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            # Old pickles name scipy.sparse.csr, which newer scipy flags as deprecated.
            warnings.simplefilter("ignore")
            return pickle.load(f, encoding="latin1")
    except Exception as e:  # any unpickling failure is bad input
        fail(path, "cannot unpickle: %s" % e)


def as_dense_float(path, m):
    if sp.issparse(m):
        m = m.toarray()
    m = np.asarray(m)
    if m.ndim != 2:
        fail(path, "expected a 2-d feature matrix, found shape %s" % (m.shape,))
    return m.astype(np.float32)


def as_onehot(path, m):
    m = np.asarray(m)
    if m.ndim != 2:
        fail(path, "expected a 2-d one-hot label matrix, found shape %s" % (m.shape,))
    return m


def main(argv):
    if len(argv) not in (4, 5) or (len(argv) == 5 and argv[4] != "--row-normalize"):
        sys.stderr.write("usage: planetoid_to_npz.py DIR NAME OUT.npz [--row-normalize]\n")
        sys.exit(2)
    root, name, out = argv[1], argv[2], argv[3]
    row_normalize = len(argv) == 5
    p = lambda s: os.path.join(root, "ind.%s.%s" % (name, s))
    x, y, tx, ty, allx, ally = (load_pickle(p(s)) for s in ("x", "y", "tx", "ty", "allx", "ally"))
    graph = load_pickle(p("graph"))
    if not isinstance(graph, dict):
        fail(p("graph"), "expected a dict of adjacency lists, found %s" % type(graph).__name__)

    tpath = p("test.index")
    if not os.path.exists(tpath):
        fail(tpath, "missing")
    test_index = []
    with open(tpath) as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            try:
                test_index.append(int(s))
            except ValueError:
                fail("%s:%d" % (tpath, lineno), "'%s' is not an integer node id" % s)
    if not test_index:
        fail(tpath, "empty file")
    test_index = np.asarray(test_index, dtype=np.int64)
    test_range = np.sort(test_index)

    x, tx, allx = as_dense_float(p("x"), x), as_dense_float(p("tx"), tx), as_dense_float(p("allx"), allx)
    y, ty, ally = as_onehot(p("y"), y), as_onehot(p("ty"), ty), as_onehot(p("ally"), ally)
    if tx.shape[0] != len(test_index) or ty.shape[0] != len(test_index):
        fail(p("tx"), "has %d rows (ty %d) but test.index lists %d nodes"
             % (tx.shape[0], ty.shape[0], len(test_index)))
    if allx.shape[0] != ally.shape[0]:
        fail(p("allx"), "has %d rows but ally has %d" % (allx.shape[0], ally.shape[0]))
    if allx.shape[1] != tx.shape[1] or ally.shape[1] != ty.shape[1]:
        fail(p("tx"), "column count differs from allx/ally")
    if len(y) > allx.shape[0] or test_range[0] < allx.shape[0]:
        fail(tpath, "test ids must follow the %d allx rows (smallest is %d)"
             % (allx.shape[0], test_range[0]))
    if len(np.unique(test_index)) != len(test_index):
        fail(tpath, "lists a node twice")
    # The graph names every node (CiteSeer's isolated test nodes included): a test id past it would
    # make the importer invent nodes (a stray 1000000 would mean a million-node dataset).
    if not hasattr(graph, "__len__") or test_range[-1] >= len(graph):
        fail(tpath, "test id %d is beyond the graph's %d nodes" % (test_range[-1], len(graph) if hasattr(graph, "__len__") else 0))

    # CiteSeer: widen the test block to the full id range; missing rows stay zero.
    full = np.arange(test_range[0], test_range[-1] + 1)
    tx_ext = np.zeros((len(full), tx.shape[1]), dtype=np.float32)
    tx_ext[test_range - test_range[0], :] = tx
    ty_ext = np.zeros((len(full), ty.shape[1]), dtype=ty.dtype)
    ty_ext[test_range - test_range[0], :] = ty

    features = np.vstack((allx, tx_ext))
    onehot = np.vstack((ally, ty_ext))
    # The test rows are stored in test.index order; put each back at its node id.
    features[test_index, :] = features[test_range, :]
    onehot[test_index, :] = onehot[test_range, :]
    n = features.shape[0]
    if row_normalize:
        # GCN's preprocess_features (and PyG's NormalizeFeatures): each row sums to 1.
        rowsum = features.sum(axis=1, keepdims=True)
        features = np.divide(features, rowsum, out=np.zeros_like(features), where=rowsum != 0).astype(np.float32)

    labels = np.argmax(onehot, axis=1).astype(np.int64)
    labels[onehot.sum(axis=1) == 0] = -1

    src, dst = [], []
    for u, nbrs in graph.items():
        for v in nbrs:
            src.append(u)
            dst.append(v)
    edges = np.asarray([src, dst], dtype=np.int64).reshape(2, -1)
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        bad = edges[(edges < 0) | (edges >= n)][0]
        fail(p("graph"), "node id %d is outside [0, %d)" % (bad, n))
    edge_index = np.hstack((edges, edges[::-1]))  # symmetrise

    train = np.arange(len(y), dtype=np.int64)
    valid = np.arange(len(y), len(y) + 500, dtype=np.int64)
    test = test_range.astype(np.int64)

    tmp = out + ".part"
    with open(tmp, "wb") as f:
        np.savez(f, edge_index=edge_index, node_feat=features, node_label=labels,
                 train_idx=train, valid_idx=valid, test_idx=test, num_nodes=np.int64(n))
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv)
