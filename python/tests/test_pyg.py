"""tiergnn.pyg: PyG's FeatureStore / GraphStore / BaseSampler over tiergnn, and NodeLoader on top.

Checks the stores against the dataset arrays, the sampler against tiergnn.Sampler's own blocks and
against a plain-Python construction of PyG's subgraph, the loader's batches against the graph, and
end to end: examples/train_pyg_sage.py on Cora reaches the accuracy of `tiergnn train` (GraphSAGE,
0.806 mean test accuracy over seeds 0-2 in bench/results/accuracy_cpu.md)."""
import importlib.util
import json
import pathlib
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
import tiergnn  # noqa: E402

PY_ROOT = pathlib.Path(__file__).resolve().parents[1]

from torch_geometric.data import TensorAttr  # noqa: E402
from torch_geometric.data.graph_store import EdgeLayout  # noqa: E402
from torch_geometric.nn import GraphSAGE  # noqa: E402
from torch_geometric.sampler import NodeSamplerInput  # noqa: E402

from tiergnn import pyg  # noqa: E402


@pytest.fixture(scope="session")
def cora(cli, shared_datasets, tmp_path_factory):
    """Cora (Planetoid, public GCN split) imported with the CLI."""
    src = pathlib.Path(shared_datasets) / "cora"
    if not src.is_dir():
        pytest.skip(f"{src} is missing: set TIERGNN_SHARED_DATASETS to the folder of the shared datasets")
    out = tmp_path_factory.mktemp("pyg") / "cora"
    subprocess.run([cli, "-q", "import", "planetoid", str(src), "-o", str(out)], check=True)
    return str(out)


def edge_set(ds):
    """The graph's edges u -> v as a set of u * N + v."""
    indptr, indices = np.asarray(ds.indptr), np.asarray(ds.indices).astype(np.int64)
    dst = np.repeat(np.arange(ds.num_nodes, dtype=np.int64), np.diff(indptr))
    return indices * ds.num_nodes + dst


def reference_subgraph(blocks):
    """PyG's subgraph from tiergnn blocks, plainly: hop h expands the nodes first reached at hop h-1
    (the seeds at hop 0) with their in-edges drawn in block L-1-h."""
    L = len(blocks)
    last = blocks[-1]
    seeds = [int(v) for v in np.from_dlpack(last.src_nodes)[: last.num_dst]]
    node, pos, frontier, edges = list(seeds), {v: i for i, v in enumerate(seeds)}, seeds, []
    n_nodes, n_edges = [len(seeds)], []
    for h in range(L):
        b = blocks[L - 1 - h]
        src_nodes, indptr, indices = (np.from_dlpack(a) for a in (b.src_nodes, b.indptr, b.indices))
        dst_pos = {int(src_nodes[i]): i for i in range(b.num_dst)}
        new = []
        for v in frontier:
            d = dst_pos[v]
            for e in range(indptr[d], indptr[d + 1]):
                u = int(src_nodes[indices[e]])
                if u not in pos:
                    pos[u] = len(node)
                    node.append(u)
                    new.append(u)
                edges.append((pos[u], pos[v]))
        n_nodes.append(len(new))
        n_edges.append(sum(int(indptr[dst_pos[v] + 1] - indptr[dst_pos[v]]) for v in frontier))
        frontier = new
    return node, edges, n_nodes, n_edges


# Stores ###########################################################################################


def test_feature_store_round_trip(cora):
    ds = tiergnn.Dataset(cora)
    fs = pyg.TierFeatureStore(ds)
    feats, labels = np.asarray(ds.features), np.asarray(ds.labels)
    assert sorted(a.attr_name for a in fs.get_all_tensor_attrs()) == ["x", "y"]
    assert all(a.group_name is None for a in fs.get_all_tensor_attrs())

    idx = torch.tensor([5, 0, 2707, 5, 1000])
    fs.store.reset_traffic()
    x = fs.get_tensor(None, "x", idx)
    assert x.dtype == torch.float32 and x.shape == (5, ds.feature_dim)
    assert np.array_equal(x.numpy(), feats[idx.numpy()])
    assert fs.store.traffic["rows"] == 5  # the gather went through the tiered store's ledger
    y = fs.get_tensor(None, "y", idx)
    assert y.dtype == torch.int64 and np.array_equal(y.numpy(), labels[idx.numpy()])

    assert np.array_equal(fs.get_tensor(None, "x", None).numpy(), feats)
    assert np.array_equal(fs.get_tensor(None, "y", None).numpy(), labels)
    assert np.array_equal(fs[None, "x", torch.tensor([3, 4])].numpy(), feats[[3, 4]])
    assert np.array_equal(fs.get_tensor(TensorAttr(None, "x", slice(10, 20, 3))).numpy(), feats[10:20:3])
    assert np.array_equal(fs.get_tensor(None, "x", 7).numpy(), feats[7])
    mask = torch.zeros(ds.num_nodes, dtype=torch.bool)
    mask[[1, 9]] = True
    assert np.array_equal(fs.get_tensor(None, "y", mask).numpy(), labels[[1, 9]])
    assert fs.get_tensor(None, "x", torch.empty(0, dtype=torch.long)).shape == (0, ds.feature_dim)

    assert fs.get_tensor_size(None, "x") == (ds.num_nodes, ds.feature_dim)
    assert fs.get_tensor_size(None, "y", idx) == (5,)
    with pytest.raises(RuntimeError, match="read-only"):
        fs.put_tensor(torch.zeros(3, ds.feature_dim), None, "x", torch.arange(3))
    with pytest.raises(RuntimeError, match="read-only"):
        fs.remove_tensor(None, "x", None)
    with pytest.raises(ValueError, match="homogeneous"):
        fs.get_tensor("paper", "x", idx)
    with pytest.raises((ValueError, IndexError)):
        fs.get_tensor(None, "x", torch.tensor([ds.num_nodes]))
    # Ids, not positions: -1 is refused whether it comes alone or in a tensor (a lone -1 wrapped to
    # the last row while a tensor of [-1] was refused: R12).
    for bad in (-1, np.int64(-1), torch.tensor([-1]), [-1]):
        with pytest.raises(IndexError, match="node -1 is outside"):
            fs.get_tensor(None, "x", bad)


def test_graph_store_layouts(cora):
    ds = tiergnn.Dataset(cora)
    gs = pyg.TierGraphStore(ds)
    (attr,) = gs.get_all_edge_attrs()
    assert attr.edge_type is None and attr.layout == EdgeLayout.CSC and attr.size == (ds.num_nodes,) * 2

    row, colptr = gs.get_edge_index(None, "csc")
    assert np.array_equal(row.numpy(), np.asarray(ds.indices)) and np.array_equal(colptr.numpy(), ds.indptr)
    assert row.dtype == colptr.dtype == torch.int64

    src, dst = gs.get_edge_index(None, "coo")
    assert np.array_equal((src * ds.num_nodes + dst).numpy(), edge_set(ds))  # u -> v, in CSR order
    assert bool((dst[1:] >= dst[:-1]).all())  # sorted by destination
    # Through PyG's own conversion helpers as well.
    r, c, _ = gs.coo()
    assert torch.equal(r, src) and torch.equal(c, dst)

    rowptr, col = gs.get_edge_index(None, "csr")
    csr_src = torch.repeat_interleave(torch.arange(ds.num_nodes), rowptr.diff())
    assert np.array_equal(np.sort((csr_src * ds.num_nodes + col).numpy()), np.sort(edge_set(ds)))

    with pytest.raises(KeyError):
        gs.get_edge_index(("paper", "cites", "paper"), "coo")
    with pytest.raises(RuntimeError, match="read-only"):
        gs.put_edge_index((src, dst), None, "coo")
    with pytest.raises(RuntimeError, match="read-only"):
        gs.remove_edge_index(None, "csc")


# Sampler ##########################################################################################


def test_blocks_form_a_prefix_chain(community):
    """What the fast path relies on: block i's src_nodes start with block i+1's, which are its
    destinations, so every block's local ids index blocks[0].src_nodes."""
    s = tiergnn.Sampler(community, [10, 5, 3], seed=1)
    for batch in range(5):
        b = s.sample(np.arange(batch * 100, batch * 100 + 100), epoch=0, batch=batch)
        assert pyg._is_prefix_chain(b.blocks)


@pytest.mark.parametrize("fanouts", [[10, 5, 3], [2], [-1, 4]])
def test_sampler_matches_tiergnn_blocks(community, fanouts):
    ds = tiergnn.Dataset(community)
    sampler = pyg.TierSampler(ds, fanouts, seed=3)
    raw = tiergnn.Sampler(ds, fanouts, seed=3)
    graph = set(edge_set(ds).tolist())
    rng = np.random.default_rng(0)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for batch in range(3):
            seeds = rng.choice(ds.num_nodes, size=200, replace=False)
            out = sampler.sample_from_nodes(NodeSamplerInput(None, torch.from_numpy(seeds)))
            blocks = raw.sample(seeds, epoch=epoch, batch=batch).blocks
            node, edges, n_nodes, n_edges = reference_subgraph(blocks)
            # Same nodes, edges and per-hop counts as PyG's construction from the same draws.
            assert out.node.tolist() == node
            assert list(zip(out.row.tolist(), out.col.tolist())) == edges
            assert out.num_sampled_nodes == n_nodes and out.num_sampled_edges == n_edges
            assert out.node[: len(seeds)].tolist() == seeds.tolist()
            assert set(out.node.tolist()) <= set(np.from_dlpack(blocks[0].src_nodes).tolist())
            # Direction: row = sampled neighbour u, col = destination v, for a graph edge u -> v.
            g = (out.node[out.row] * ds.num_nodes + out.node[out.col]).tolist()
            assert set(g) <= graph
            # Each hop's edges go into the nodes the previous hop reached first (the seeds at hop 0).
            lo, e0 = 0, 0
            for h, ne in enumerate(out.num_sampled_edges):
                hi = lo + out.num_sampled_nodes[h]
                col = out.col[e0:e0 + ne]
                assert bool(((col >= lo) & (col < hi)).all())
                lo, e0 = hi, e0 + ne
            assert out.edge is None and out.batch is None


def test_sampler_takes_every_seed_tiergnn_takes(community):
    """Seeds are 64-bit unsigned as in `tiergnn train --seed` and tiergnn.Sampler: 2**63 and above
    reproduce such a run; a negative seed is refused with the same range the message states."""
    big = pyg.TierSampler(community, [5, 5], seed=2**63 + 5)
    direct = tiergnn.Sampler(community, fanouts=[5, 5], seed=2**63 + 5)
    ids = np.arange(8, dtype=np.int64)
    assert np.array_equal(np.asarray(big.sample_blocks(ids, epoch=0, batch=0).blocks[0].src_nodes),
                          np.asarray(direct.sample(ids, epoch=0, batch=0).blocks[0].src_nodes))
    with pytest.raises(ValueError, match=r"\[0, 2\*\*64\)"):
        pyg.TierSampler(community, [5, 5], seed=-1)


def test_sampler_draws_are_keyed_and_reproducible(community):
    sampler = pyg.TierSampler(community, [5, 5], seed=0)
    seeds = NodeSamplerInput(None, torch.arange(300))
    a = sampler.sample_from_nodes(seeds)
    b = sampler.sample_from_nodes(seeds)  # the next batch of the epoch: other draws
    assert not (torch.equal(a.node, b.node) and torch.equal(a.row, b.row))
    sampler.set_epoch(0)
    c = sampler.sample_from_nodes(seeds)
    assert torch.equal(a.node, c.node) and torch.equal(a.row, c.row) and torch.equal(a.col, c.col)
    sampler.set_epoch(1)
    d = sampler.sample_from_nodes(seeds)
    assert not (torch.equal(a.node, d.node) and torch.equal(a.row, d.row))
    other = pyg.TierSampler(community, [5, 5], seed=1).sample_from_nodes(seeds)
    assert not (torch.equal(a.node, other.node) and torch.equal(a.row, other.row))


def test_sampler_output_follows_pyg_hop_convention(community):
    """trim_to_layer (which relies on num_sampled_nodes / num_sampled_edges and the hop order of
    nodes and edges) gives the seeds the same outputs as the full subgraph."""
    ds = tiergnn.Dataset(community)
    fs = pyg.TierFeatureStore(ds)
    sampler = pyg.TierSampler(ds, [8, 4, 2], seed=0)
    torch.manual_seed(0)
    model = GraphSAGE(ds.feature_dim, 16, num_layers=3, out_channels=4).eval()
    for batch in range(3):
        out = sampler.sample_from_nodes(NodeSamplerInput(None, torch.arange(batch * 64, batch * 64 + 64)))
        x = fs.get_tensor(None, "x", out.node)
        ei = torch.stack([out.row, out.col])
        full = model(x, ei)[:64]
        trimmed = model(x, ei, num_sampled_nodes_per_hop=out.num_sampled_nodes,
                        num_sampled_edges_per_hop=out.num_sampled_edges)[:64]
        assert torch.allclose(full, trimmed, atol=1e-5)


def test_sampler_rejects_what_it_cannot_do(community):
    sampler = pyg.TierSampler(community, [3], seed=0)
    with pytest.raises(NotImplementedError, match="seed nodes only"):
        sampler.sample_from_edges(None)
    with pytest.raises(ValueError, match="homogeneous"):
        sampler.sample_from_nodes(NodeSamplerInput(None, torch.arange(3), input_type="paper"))
    with pytest.raises(ValueError):
        sampler.sample_from_nodes(NodeSamplerInput(None, torch.tensor([1, 1])))  # repeated seed


def test_prepared_dataset_samples_like_the_original(community, prepared):
    """On a renumbered (prepared) dataset the draws follow the original ids, so the subgraph is the
    original one up to renaming, and the ledger splits the gathered rows by tier."""
    orig, prep = tiergnn.Dataset(community), tiergnn.Dataset(prepared)
    order = torch.from_numpy(np.array(prep.order))  # new id -> original id
    new_of = torch.empty_like(order)
    new_of[order] = torch.arange(order.numel())
    seeds = torch.arange(0, 6000, 37)
    a = pyg.TierSampler(orig, [10, 5], seed=2).sample_from_nodes(NodeSamplerInput(None, seeds))
    b = pyg.TierSampler(prep, [10, 5], seed=2).sample_from_nodes(NodeSamplerInput(None, new_of[seeds]))
    assert torch.equal(order[b.node], a.node)
    assert torch.equal(b.row, a.row) and torch.equal(b.col, a.col)

    fs = pyg.TierFeatureStore(prep)
    fs.store.reset_traffic()
    x = fs.get_tensor(None, "x", b.node)
    assert np.array_equal(x.numpy(), np.asarray(orig.features)[a.node.numpy()].astype(np.float32))
    t = fs.store.traffic
    g, c = fs.store.g, fs.store.c
    assert 0 < g < c < prep.num_nodes
    assert (t["gpu_rows"], t["host_rows"], t["disk_rows"]) == (
        int((b.node < g).sum()), int(((b.node >= g) & (b.node < c)).sum()), int((b.node >= c).sum()))


# Loader ###########################################################################################


def test_node_loader_batches(cora):
    ds = tiergnn.Dataset(cora)
    graph = set(edge_set(ds).tolist())
    feats, labels = np.asarray(ds.features), np.asarray(ds.labels)
    loader = pyg.loader(ds, [15, 10, 5], batch_size=64, input_nodes="train", shuffle=True, seed=4)
    plan = tiergnn.Sampler(ds, [15, 10, 5], seed=4).epoch_batches(ds.split("train"), 64, 0)

    epoch0 = list(loader)
    assert len(epoch0) == len(plan) == 3
    for data, seeds in zip(epoch0, plan):
        bs = data.batch_size
        assert bs == len(seeds) and data.n_id[:bs].tolist() == seeds.tolist()  # tiergnn's batch order
        assert data.num_nodes == data.n_id.numel() == sum(data.num_sampled_nodes)
        assert data.edge_index.size(1) == sum(data.num_sampled_edges) > 0
        u, v = data.n_id[data.edge_index[0]], data.n_id[data.edge_index[1]]
        assert set((u * ds.num_nodes + v).tolist()) <= graph  # real edges, towards the seeds
        assert np.array_equal(data.x.numpy(), feats[data.n_id.numpy()])
        assert np.array_equal(data.y.numpy(), labels[data.n_id.numpy()])

    epoch1 = list(loader)
    assert [d.n_id[:d.batch_size].tolist() for d in epoch1] != [d.n_id[:d.batch_size].tolist() for d in epoch0]
    again = list(pyg.loader(ds, [15, 10, 5], batch_size=64, input_nodes="train", shuffle=True, seed=4))
    for a, b in zip(epoch0, again):  # reproducible from the seed
        assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index)

    rows = sum(d.num_nodes for d in epoch0 + epoch1)
    assert loader.feature_store.store.traffic["rows"] == rows  # every feature row went through the ledger


def test_pyg_gat_trains_on_tiergnn_batches(cora):
    """Attention models take the loader's batches as they take PyG's own: GATConv (self-loops added)
    attends over each destination's sampled in-neighbours plus itself, which is what
    `tiergnn train --model gat` computes."""
    from torch_geometric.nn import GAT

    torch.manual_seed(0)
    ds = tiergnn.Dataset(cora)
    loader = pyg.loader(ds, [10, 5], batch_size=140, input_nodes="train", shuffle=True, seed=1)
    model = GAT(ds.feature_dim, 8, num_layers=2, out_channels=ds.num_classes, heads=4)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        for data in loader:
            opt.zero_grad()
            out = model(data.x, data.edge_index)[: data.batch_size]
            loss = torch.nn.functional.cross_entropy(out, data.y[: data.batch_size])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_shuffled_loader_samples_what_tiergnn_train_samples(cli, cora, tmp_path):
    """With shuffle=True the loader's batch b of epoch e has the seeds and the draws of `tiergnn
    train`'s: its per-epoch input_nodes (rows of blocks[0]) and sampled_edges agree."""
    metrics = tmp_path / "m.jsonl"
    subprocess.run([cli, "-q", "train", cora, "--fanouts", "25,10", "--batch-size", "64", "--epochs", "2", "--seed",
                    "7", "--metrics", str(metrics), "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    cli_epochs = [json.loads(line) for line in metrics.read_text().splitlines()]
    cli_epochs = [(j["input_nodes"], j["sampled_edges"]) for j in cli_epochs if "input_nodes" in j]
    loader = pyg.loader(cora, [25, 10], batch_size=64, input_nodes="train", shuffle=True, seed=7)
    ours = []
    for epoch in range(2):
        loader.node_sampler.set_epoch(epoch)
        loader.batch_sampler.set_epoch(epoch)
        rows = edges = 0
        for positions in loader.batch_sampler:
            b = loader.node_sampler.sample_blocks(loader.input_data.node[positions])
            rows += b.blocks[0].num_src
            edges += b.num_sampled_edges
        ours.append((rows, edges))
    assert ours == cli_epochs


def test_node_loader_workers_draw_like_the_main_process(cora):
    """Batch keys follow the batch's index in the epoch, also when workers sample."""
    ds = tiergnn.Dataset(cora)
    kw = dict(batch_size=16, input_nodes="valid", seed=1)
    one = list(pyg.loader(ds, [5, 5], **kw))
    two = list(pyg.loader(ds, [5, 5], num_workers=2, **kw))
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index)


# End to end #######################################################################################


def load_example():
    path = PY_ROOT / "examples" / "train_pyg_sage.py"
    spec = importlib.util.spec_from_file_location("train_pyg_sage", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_example_trains_cora_like_tiergnn(cora):
    """The settings of `tiergnn train` in bench/results/accuracy_cpu.md (Cora, GraphSAGE: 0.818 /
    0.819 / 0.782 for seeds 0/1/2); PyG's model should land in the same band."""
    example = load_example()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        r = example.train(cora, fanouts=[25, 10], hidden=64, dropout=0.5, input_dropout=0.5, lr=0.01,
                          weight_decay=5e-4, epochs=100, batch_size=64, seed=0, eval_every=100, log=None)
    finally:
        torch.set_num_threads(threads)
    assert r["metric"] == "accuracy"
    assert r["test"] >= 0.75, r["test"]
    assert r["valid"] >= 0.72, r["valid"]
    t = r["traffic"]
    assert t["batches"] == 300 and t["rows"] == t["host_rows"] > 0  # unprepared: every row from host
    assert r["epochs"][-1]["loss"] < 0.5


def test_roc_auc_matches_definition():
    example = load_example()
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
    labels = np.array([0, 0, 1, 1, 1])
    pairs = [(p, n) for p in score[labels == 1] for n in score[labels == 0]]
    expect = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert example.roc_auc(score, labels) == pytest.approx(expect)
    assert example.roc_auc(score, np.ones(5, dtype=int)) == 0.5


def test_loader_workers_under_spawn_draw_like_the_main_process(community):
    """tiergnn's objects pickle, so workers started by "spawn" (PyTorch's advice with CUDA, the only
    method on macOS) sample and gather the same batches as the main process."""
    ds = tiergnn.Dataset(community)
    kw = dict(batch_size=256, input_nodes="valid", seed=3)
    one = list(pyg.loader(ds, [5, 3], **kw))
    two = list(pyg.loader(ds, [5, 3], num_workers=2, multiprocessing_context="spawn", **kw))
    assert len(one) == len(two) > 1
    for a, b in zip(one, two):
        assert torch.equal(a.n_id, b.n_id) and torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


def test_loader_refuses_what_would_silently_differ(community, prepared):
    ds = tiergnn.Dataset(community)
    with pytest.raises(ValueError, match="persistent_workers"):
        pyg.loader(ds, [5, 3], batch_size=64, num_workers=2, persistent_workers=True)
    with pytest.raises(ValueError, match="in_order=False"):
        pyg.loader(ds, [5, 3], batch_size=64, num_workers=2, in_order=False)
    # A loader built by hand from another dataset's store (the prepared copy is renumbered).
    with pytest.raises(ValueError, match="feature_store is of"):
        pyg.TierNodeLoader((pyg.TierFeatureStore(prepared), pyg.TierGraphStore(ds)), pyg.TierSampler(ds, [5, 3]),
                           input_nodes=torch.arange(10), batch_size=4)
    with pytest.raises(ValueError, match="more than once"):
        pyg.loader(ds, [5, 3], batch_size=64, input_nodes=[1, 1, 2])
    with pytest.raises(ValueError, match="one entry per node"):
        pyg.loader(ds, [5, 3], batch_size=64, input_nodes=torch.ones(10, dtype=torch.bool))
    with pytest.raises(ValueError, match="batch_size"):
        pyg.loader(ds, [5, 3], batch_size=0, shuffle=True)
    # Node ids that are not integers, or not 1-d, are refused rather than truncated or flattened.
    with pytest.raises(TypeError, match="input_nodes"):
        pyg.loader(ds, [5, 3], batch_size=64, input_nodes=[1.5, 2.5])
    fs = pyg.TierFeatureStore(ds)
    with pytest.raises(TypeError, match="index"):
        fs.get_tensor(attr_name="x", group_name=None, index=torch.tensor([1.5]))
    with pytest.raises(ValueError, match="1-d"):
        fs.get_tensor(attr_name="x", group_name=None, index=torch.tensor([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="one entry per node"):
        fs.get_tensor(attr_name="x", group_name=None, index=torch.ones(10, dtype=torch.bool))
    s = pyg.TierSampler(ds, [5])
    with pytest.raises(TypeError, match="seeds"):
        s.sample_blocks(np.array([1.9, 2.2]))
    with pytest.raises(TypeError, match="epoch"):
        s.sample_blocks([1], epoch=1.5, batch=2)
    # Another dataset's feature store (here: its prepared, renumbered copy) would serve other rows.
    with pytest.raises(ValueError, match="feature_store holds the features of"):
        pyg.loader(ds, [5, 3], batch_size=64, feature_store=pyg.TierFeatureStore(prepared))
    pyg.loader(ds, [5, 3], batch_size=64, feature_store=pyg.TierFeatureStore(community))  # its own: fine
    # A sampler that draws seeds with replacement: refused with the reason, not a bare "distinct".
    train = torch.from_numpy(np.array(ds.split("train")))  # a copy: the split is read-only
    torch.manual_seed(0)
    rs = torch.utils.data.WeightedRandomSampler(torch.ones(len(train)), len(train), replacement=True)
    with pytest.raises(ValueError, match="replacement"):
        for _ in pyg.loader(ds, [5, 3], batch_size=512, sampler=rs):
            pass
