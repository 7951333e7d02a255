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

Usage: planetoid_to_npz.py DIR NAME OUT.npz [--row-normalize] [--output-name=NAME]
Exit status 0 on success, 2 for bad input (one line on stderr: "path: problem"), 3 when numpy or
scipy cannot be imported, 4 when its files cannot be written ("NAME: problem", NAME the output as
the user named it).

Scratch files go beside OUT.npz, named after it (tiergnn removes what a killed run left there), not
to $TMPDIR. SIGTERM (tiergnn's stop, or the parent's death) ends the script through its cleanup.
"""
import os
import pickle
import signal
import sys
import tempfile
import warnings

SCRATCH = {"dir": ".", "prefix": "planetoid-", "name": "the output"}


def _stop(signum, frame):  # run the `finally` blocks that remove scratch files, then end
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _stop)
_PARENT = os.getppid()
try:  # end with the process that started us, also through a wrapper script that did not exec
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except Exception:  # noqa: BLE001 - not Linux, no ctypes: the parent's own guard is what there is
    pass
if os.getppid() != _PARENT:  # the parent died before the request took effect
    sys.exit(143)


def fail(path, problem, status=2):
    sys.stderr.write("%s: %s\n" % (path, problem))
    sys.exit(status)


try:
    import numpy as np
    import scipy.sparse as sp
except ImportError as e:  # pragma: no cover - depends on the machine
    fail("python3", "cannot import numpy/scipy (%s); install them with "
         "`python3 -m pip install numpy scipy`" % e, 3)


# A pickle can name any importable callable and call it while loading (os.system included), so
# only what the Planetoid files are made of may be loaded: numpy arrays and dtypes, scipy CSR
# matrices, and the graph's defaultdict of lists (module names as Python 2 and 3, numpy 1 and 2
# spell them).
ALLOWED_GLOBALS = {
    ("collections", "defaultdict"), ("__builtin__", "list"), ("builtins", "list"), ("_codecs", "encode"),
    ("__builtin__", "dict"), ("builtins", "dict"), ("__builtin__", "set"), ("builtins", "set"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("scipy.sparse.csr", "csr_matrix"), ("scipy.sparse._csr", "csr_matrix"), ("scipy.sparse", "csr_matrix"),
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError("refusing to load %s.%s (not part of a Planetoid file)" % (module, name))
        return super().find_class(module, name)


def _unpickle_plain(path):
    """Unpickles `path` with the restricted unpickler and returns (kind, arrays) of plain numeric
    numpy arrays: ("array", a), ("csr", data/indices/indptr/shape) or ("graph", keys/lengths/flat)."""
    with open(path, "rb") as f, warnings.catch_warnings():
        # Old pickles name scipy.sparse.csr, which newer scipy flags as deprecated.
        warnings.simplefilter("ignore")
        obj = RestrictedUnpickler(f, encoding="latin1").load()
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject or obj.dtype.kind not in "biuf":
            raise ValueError("an array of dtype %s (numbers expected)" % obj.dtype)
        if obj.size > 2**31:
            raise ValueError("an array of %d elements, beyond what a Planetoid dataset can have" % obj.size)
        return "array", {"a": np.array(obj, copy=True)}
    if sp.issparse(obj):
        m = obj.tocsr()
        for part in (m.data, m.indices, m.indptr):
            if part.dtype.hasobject or part.dtype.kind not in "biuf":
                raise ValueError("a sparse matrix of dtype %s (numbers expected)" % part.dtype)
        return "csr", {"data": np.array(m.data, copy=True), "indices": np.array(m.indices, dtype=np.int64),
                       "indptr": np.array(m.indptr, dtype=np.int64), "shape": np.array(m.shape, dtype=np.int64)}
    if isinstance(obj, dict):
        keys, lengths, flat = [], [], []
        for k, v in obj.items():
            if not isinstance(k, int) or not isinstance(v, (list, tuple)) or \
                    not all(isinstance(t, int) and not isinstance(t, bool) for t in v):
                raise ValueError("the adjacency must map node ids to lists of node ids")
            if k < 0 or k >= 2**62 or any(t < 0 or t >= 2**62 for t in v):
                raise ValueError("a node id outside [0, 2^62)")
            keys.append(k)
            lengths.append(len(v))
            flat.extend(v)
        return "graph", {"keys": np.array(keys, dtype=np.int64), "lengths": np.array(lengths, dtype=np.int64),
                         "flat": np.array(flat, dtype=np.int64)}
    raise ValueError("found a %s (a numpy array, a scipy sparse matrix or an adjacency dict expected)"
                     % type(obj).__name__)


def checked_csr(path, data, indices, indptr, shape):
    """A CSR matrix from arrays that were read from an untrusted file: scipy does not check them
    all, and densifying one with an index out of range writes out of bounds."""
    if shape.shape != (2,) or (shape < 0).any():
        fail(path, "a sparse matrix with shape %s" % (shape.tolist(),))
    rows, cols = int(shape[0]), int(shape[1])
    if rows * cols > 2**31:
        fail(path, "a %d x %d matrix is beyond the 2^31 elements a Planetoid dataset can have" % (rows, cols))
    if len(indptr) != rows + 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any() or \
            indptr[-1] != len(indices) or len(indices) != len(data):
        fail(path, "a sparse matrix whose row offsets do not describe its %d entries" % len(indices))
    if len(indices) and (indices.min() < 0 or indices.max() >= cols):
        fail(path, "a sparse matrix with a column index outside [0, %d)" % cols)
    return sp.csr_matrix((data, indices, indptr), shape=(rows, cols))


def load_pickle(path):
    """Loads one Planetoid pickle in a child process, which hands back plain arrays (an .npz read
    without pickle): a corrupt or hostile file that crashes numpy while it is unpickled ends the
    child, not this process, and becomes a one-line error."""
    if not os.path.exists(path):
        fail(path, "missing")
    try:
        fd, tmp = tempfile.mkstemp(suffix=".npz", prefix=SCRATCH["prefix"], dir=SCRATCH["dir"])
    except OSError as e:
        fail(SCRATCH["name"], "cannot write the converter's scratch file: %s" % e.strerror, 4)
    os.close(fd)
    r, w = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # child: unpickle, save plain arrays, report an error on the pipe
            os.close(r)
            try:
                kind, arrays = _unpickle_plain(path)
            except BaseException as e:  # noqa: BLE001 - anything the file provokes is bad input
                os.write(w, ("%s" % e)[:200].replace("\n", " ").encode("utf-8", "replace"))
                os._exit(2)
            try:
                np.savez(tmp, kind=np.array(kind), **arrays)
                os._exit(0)
            except BaseException as e:  # noqa: BLE001 - the disk, not the input
                os.write(w, (getattr(e, "strerror", None) or "%s" % e)[:200].encode("utf-8", "replace"))
                os._exit(4)
        os.close(w)
        msg = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            msg += chunk
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            fail(path, "cannot unpickle: the loader crashed on it (signal %d); the file is corrupt"
                 % os.WTERMSIG(status))
        if os.WEXITSTATUS(status) == 4:
            fail(SCRATCH["name"], "cannot write the converter's scratch file: %s" % msg.decode("utf-8", "replace"), 4)
        if os.WEXITSTATUS(status) != 0:
            fail(path, "cannot unpickle: %s" % (msg.decode("utf-8", "replace") or "unknown error"))
        with np.load(tmp, allow_pickle=False) as z:
            kind = str(z["kind"])
            if kind == "array":
                return z["a"]
            if kind == "csr":
                return checked_csr(path, z["data"], z["indices"], z["indptr"], z["shape"])
            keys, lengths, flat = z["keys"], z["lengths"], z["flat"]
            ends = np.cumsum(lengths)
            return {int(k): flat[e - n:e].tolist() for k, n, e in zip(keys, lengths, ends)}
    finally:
        os.close(r)
        try:
            os.remove(tmp)
        except OSError:
            pass


def as_dense_float(path, m):
    if sp.issparse(m):
        m = m.toarray()
    m = np.asarray(m)
    if m.ndim != 2:
        fail(path, "expected a 2-d feature matrix, found shape %s" % (m.shape,))
    m = m.astype(np.float32)
    bad = np.argwhere(~np.isfinite(m))
    if len(bad):
        r, c = bad[0]
        fail(path, "non-finite value at row %d, column %d" % (r, c))
    return m


def as_onehot(path, m):
    m = np.asarray(m)
    if m.ndim != 2:
        fail(path, "expected a 2-d one-hot label matrix, found shape %s" % (m.shape,))
    # One-hot rows (an all-zero row is an unlabelled node): anything else would be argmax'ed silently.
    if m.size:
        mf = np.asarray(m, dtype=np.float64)
        bad = np.flatnonzero(~np.all(np.isfinite(mf), axis=1) | ~np.all((mf == 0) | (mf == 1), axis=1) |
                             (np.count_nonzero(mf, axis=1) > 1))
        if len(bad):
            fail(path, "row %d is not a one-hot label row (values %s)" % (bad[0], np.array2string(mf[bad[0]][:8])))
    return m


def main(argv):
    options = argv[4:]
    names = [o[len("--output-name="):] for o in options if o.startswith("--output-name=")]
    if len(argv) < 4 or any(o != "--row-normalize" and not o.startswith("--output-name=") for o in options):
        sys.stderr.write("usage: planetoid_to_npz.py DIR NAME OUT.npz [--row-normalize] [--output-name=NAME]\n")
        sys.exit(2)
    root, name, out = argv[1], argv[2], argv[3]
    row_normalize = "--row-normalize" in options
    SCRATCH["dir"] = os.path.dirname(out) or "."
    SCRATCH["prefix"] = os.path.basename(out) + ".scratch-"
    SCRATCH["name"] = names[-1] if names else out
    p = lambda s: os.path.join(root, "ind.%s.%s" % (name, s))
    x, y, tx, ty, allx, ally = (load_pickle(p(s)) for s in ("x", "y", "tx", "ty", "allx", "ally"))
    graph = load_pickle(p("graph"))
    if not isinstance(graph, dict):
        fail(p("graph"), "expected a dict of adjacency lists, found %s" % type(graph).__name__)

    tpath = p("test.index")
    if not os.path.exists(tpath):
        fail(tpath, "missing")
    test_index = []
    with open(tpath, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            s = raw.strip()
            if not s:
                continue
            if not s.isdigit() or len(s) > 18:  # ASCII digits only, below 10^18
                shown = "".join(chr(b) if 32 <= b < 127 else "\\x%02x" % b for b in s[:80])
                fail("%s:%d" % (tpath, lineno), "'%s' is not a node id (a non-negative integer)" % shown)
            test_index.append(int(s))
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
    # y (the training labels) is the first rows of ally: their class counts must agree.
    if y.shape[1] != ally.shape[1]:
        fail(p("y"), "has %d classes (one-hot columns) but ally has %d" % (y.shape[1], ally.shape[1]))
    if len(y) and not np.array_equal(y, ally[:len(y)]):
        fail(p("y"), "differs from the first %d rows of ally (they are the same training labels)" % len(y))
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
    try:
        with open(tmp, "wb") as f:
            np.savez(f, edge_index=edge_index, node_feat=features, node_label=labels,
                     train_idx=train, valid_idx=valid, test_idx=test, num_nodes=np.int64(n))
        os.replace(tmp, out)
    except OSError as e:
        fail(SCRATCH["name"], "cannot write the converted arrays: %s" % (e.strerror or e), 4)


if __name__ == "__main__":
    main(sys.argv)
