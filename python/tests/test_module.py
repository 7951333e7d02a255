"""The extension module: every array round-trips, arrays are zero-copy, bad input raises clear
Python exceptions, arrays outlive their owners safely, and concurrent calls are safe."""
import gc
import json
import os
import threading
import time

import numpy as np
import pytest

import tiergnn

torch = pytest.importorskip("torch")


def npy(ds, name):
    return np.load(f"{ds.path}/{name}")


# ---- round trips ---------------------------------------------------------------------------------

def test_dataset_arrays_round_trip(community):
    ds = tiergnn.Dataset(community)
    assert ds.num_nodes == 6000 and ds.feature_dim == 32 and ds.num_classes == 8 and not ds.prepared
    for attr, f in [("indptr", "indptr.npy"), ("indices", "indices.npy"), ("features", "features.npy"),
                    ("labels", "labels.npy")]:
        a, ref = getattr(ds, attr), npy(ds, f)
        assert a.dtype == ref.dtype and a.shape == ref.shape, attr
        np.testing.assert_array_equal(a, ref)
    for s, f in [("train", "train_idx.npy"), ("valid", "valid_idx.npy"), ("test", "test_idx.npy")]:
        np.testing.assert_array_equal(ds.split(s), npy(ds, f))
    assert ds.order is None and ds.plan is None
    assert ds.indptr[-1] == ds.num_edges == ds.indices.shape[0]
    ds.check()


def test_prepared_dataset_plan_and_order(community, prepared):
    src, ds = tiergnn.Dataset(community), tiergnn.Dataset(prepared)
    assert ds.prepared
    order = ds.order
    assert sorted(order.tolist()) == list(range(ds.num_nodes))
    np.testing.assert_array_equal(ds.features, src.features[order])  # same rows, hottest first
    np.testing.assert_array_equal(ds.labels, src.labels[order])
    p = ds.plan
    assert 0 < p["g"] < p["c"] < ds.num_nodes and p["row_bytes"] == 32 * 4
    assert p["gpu_budget"].startswith("10%") and p["host_budget"].startswith("40%")


def test_profile_scores(community):
    r = tiergnn.profile(community, estimator="wrpr", fanouts=[10, 5], batch_size=256)
    assert r["estimator"] == "wrpr" and r["scores"].shape == (6000,) and r["scores"].dtype == np.float64
    assert r["edge_passes"] > 0 and (r["scores"] >= 0).all()
    again = tiergnn.profile(community, estimator="wrpr", fanouts=[10, 5], batch_size=256)
    np.testing.assert_array_equal(r["scores"], again["scores"])
    assert "hybrid" in " ".join(tiergnn.estimator_names())


def test_profile_and_prepare_follow_max_batches(community, tmp_path):
    # 6000 nodes, batch 256: several batches an epoch; a run of 1 batch an epoch reads fewer nodes
    full = tiergnn.profile(community, estimator="presample:1", fanouts=[10, 5], batch_size=256)
    one = tiergnn.profile(community, estimator="presample:1", fanouts=[10, 5], batch_size=256, max_batches=1)
    assert 0 < one["scores"].sum() < full["scores"].sum() / 2
    with pytest.raises(ValueError, match="max_batches"):
        tiergnn.profile(community, max_batches=-1)
    p = tiergnn.prepare(community, tmp_path / "p1", estimator="degree", fanouts=[10, 5], batch_size=256,
                        max_batches=1)
    with open(os.path.join(p.path, "plan.json")) as f:
        assert json.load(f)["training"]["max_batches"] == 1


def test_prepare_sizes_the_reserve_for_the_model(community, tmp_path):
    # A byte budget: GAT's reserve (per-source transforms, per-edge attention) leaves a smaller GPU tier.
    kw = dict(estimator="degree", gpu_mem="8M", fanouts=[10, 5], batch_size=256, hidden=32)
    sage = tiergnn.prepare(community, tmp_path / "sage", **kw)
    gat = tiergnn.prepare(community, tmp_path / "gat", model="gat", heads=2, **kw)
    with open(os.path.join(gat.path, "plan.json")) as f:
        plan = json.load(f)
    assert plan["training"]["model"] == "gat" and plan["training"]["heads"] == 2
    assert gat.plan["g"] < sage.plan["g"]
    with pytest.raises(TypeError, match="model"):
        tiergnn.prepare(community, tmp_path / "x", model=3)
    with pytest.raises(ValueError, match="model"):
        tiergnn.prepare(community, tmp_path / "x", model="mlp")


def test_sampler_blocks_are_consistent_and_deterministic(community):
    ds = tiergnn.Dataset(community)
    s = tiergnn.Sampler(ds, [10, 5], seed=3)
    seeds = ds.split("train")[:200]
    b = s.sample(seeds, epoch=1, batch=2)
    assert len(b.blocks) == 2
    np.testing.assert_array_equal(b.seeds, seeds)
    indptr, indices = ds.indptr, ds.indices
    for i, blk in enumerate(b.blocks):
        src = np.from_dlpack(blk.src_nodes)
        ip, ix = np.from_dlpack(blk.indptr), np.from_dlpack(blk.indices)
        assert ip.dtype == np.int64 and ix.dtype == np.int32 and len(ip) == blk.num_dst + 1
        assert len(np.unique(src)) == len(src)
        deg = np.from_dlpack(blk.src_degree)
        np.testing.assert_array_equal(deg, indptr[src + 1] - indptr[src])
        for d in range(blk.num_dst):  # every sampled edge is a real in-edge of its destination
            v = src[d]
            nbrs = set(indices[indptr[v]:indptr[v + 1]].tolist())
            got = src[ix[ip[d]:ip[d + 1]]]
            assert set(got.tolist()) <= nbrs and len(got) == min(len(nbrs), s.fanouts[len(b.blocks) - 1 - i])
        if i + 1 < len(b.blocks):  # the next block's sources are a prefix of this block's
            np.testing.assert_array_equal(np.from_dlpack(b.blocks[i + 1].src_nodes), src[: b.blocks[i + 1].num_src])
    again = s.sample(seeds.tolist(), epoch=1, batch=2)
    for x, y in zip(b.blocks, again.blocks):
        np.testing.assert_array_equal(np.from_dlpack(x.indices), np.from_dlpack(y.indices))
        np.testing.assert_array_equal(np.from_dlpack(x.src_nodes), np.from_dlpack(y.src_nodes))
    other = s.sample(seeds, epoch=2, batch=2)
    assert not np.array_equal(np.from_dlpack(other.blocks[0].src_nodes), b.input_nodes)


def test_epoch_batches_cover_the_training_set(community):
    ds = tiergnn.Dataset(community)
    s = tiergnn.Sampler(ds, [10, 5], seed=0)
    train = ds.split("train")
    batches = s.epoch_batches(train, 256, epoch=0)
    assert [len(b) for b in batches[:-1]] == [256] * (len(batches) - 1)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.sort(train))
    assert not np.array_equal(np.concatenate(batches), np.concatenate(s.epoch_batches(train, 256, epoch=1)))


def test_gather_every_tier_with_ledger(community, prepared):
    ds = tiergnn.Dataset(prepared)
    fs = tiergnn.FeatureStore(ds, disk_readers=2)
    assert fs.device == "cpu" and (fs.g, fs.c) == (ds.plan["g"], ds.plan["c"])
    rng = np.random.default_rng(0)
    ids = np.concatenate([rng.choice(fs.g, 50, replace=False), fs.g + rng.choice(fs.c - fs.g, 60, replace=False),
                          fs.c + rng.choice(ds.num_nodes - fs.c, 70, replace=False)])
    rng.shuffle(ids)
    x = fs.gather(ids)
    assert x.dtype == np.float32 and x.shape == (180, 32)
    np.testing.assert_array_equal(x, ds.features[ids])
    t = fs.traffic
    assert (t["batches"], t["gpu_rows"], t["host_rows"], t["disk_rows"]) == (1, 50, 60, 70)
    assert t["host_to_gpu_bytes"] == 130 * 128 and t["baseline_bytes"] == 180 * 128
    out = np.empty((180, 32), np.float32)
    assert fs.gather(torch.from_numpy(ids), out=out) is out
    np.testing.assert_array_equal(out, x)
    tout = torch.empty(180, 32)
    fs.gather(ids, out=tout)
    np.testing.assert_array_equal(tout.numpy(), x)
    assert fs.traffic["batches"] == 3
    fs.reset_traffic()
    assert fs.traffic["rows"] == 0
    assert fs.gather(np.array([], np.int64)).shape == (0, 32)


def test_unprepared_store_holds_everything_in_host(community):
    fs = tiergnn.FeatureStore(community)
    assert (fs.g, fs.c) == (0, 6000)
    fs.gather([1, 2, 3])
    assert fs.traffic["host_rows"] == 3
    fs2 = tiergnn.FeatureStore(community, g=100, c=200)
    fs2.gather([5, 150, 5000])
    t = fs2.traffic
    assert (t["gpu_rows"], t["host_rows"], t["disk_rows"]) == (1, 1, 1)


# ---- zero copy -----------------------------------------------------------------------------------

def test_arrays_are_zero_copy(community, prepared):
    ds = tiergnn.Dataset(community)
    # The same memory through numpy and torch, and across calls: the mapped file itself.
    raw = ds._d.features
    assert np.from_dlpack(raw).ctypes.data == torch.from_dlpack(raw).data_ptr() == ds.features.ctypes.data
    assert ds.indptr.ctypes.data == ds.indptr.ctypes.data
    assert not ds.features.flags.writeable  # the file's mapping is read-only for numpy
    with pytest.raises(ValueError):
        ds.features[0, 0] = 1.0

    b = tiergnn.Sampler(ds, [5], seed=0).sample([0, 1, 2])
    blk = b.blocks[0]
    a, t = np.from_dlpack(blk.src_nodes), torch.from_dlpack(blk.src_nodes)
    assert a.ctypes.data == t.data_ptr()
    t[0] = 12345  # a write through torch is visible through numpy: one buffer
    assert a[0] == 12345 and np.from_dlpack(blk.src_nodes)[0] == 12345

    fs = tiergnn.FeatureStore(prepared)
    x = fs.gather([0, 1])
    tx = torch.from_dlpack(x)
    assert tx.data_ptr() == x.ctypes.data
    tx[0, 0] = -7.0
    assert x[0, 0] == -7.0

    # A tier view is the store's own memory: a write through it changes what gather returns.
    host = fs.tier("host")
    row = fs.g + 3
    assert host.shape == (fs.c - fs.g, 32)
    np.testing.assert_array_equal(host[3], fs.gather([row])[0])
    host[3, :] = 42.0
    assert (fs.gather([row])[0] == 42.0).all()
    gpu = torch.from_dlpack(fs.tier("gpu"))
    gpu[0, 5] = 9.5
    assert fs.gather([0])[0, 5] == 9.5
    del host, gpu
    gc.collect()
    fs.close()


# ---- bad input -----------------------------------------------------------------------------------

def test_bad_input_raises_clear_errors(community, tmp_path):
    ds = tiergnn.Dataset(community)
    fs = tiergnn.FeatureStore(ds)
    s = tiergnn.Sampler(ds, [5, 5], seed=0)
    with pytest.raises(ValueError, match=r"id 6000 at position 1 is outside \[0, 6000\)"):
        fs.gather([3, 6000])
    with pytest.raises(ValueError, match="id -1"):
        fs.gather(np.array([-1]))
    with pytest.raises(TypeError, match="ids must be integers, got an array of float64"):
        fs.gather(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="must be integers, got a tensor of torch.float32"):
        fs.gather(torch.tensor([1.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        fs.gather(np.zeros((2, 2), np.int64))
    with pytest.raises(TypeError, match="float32"):
        fs.gather([1, 2], out=np.empty((2, 32), np.float64))
    with pytest.raises(ValueError, match="needs at least"):
        fs.gather([1, 2], out=np.empty((1, 32), np.float32))
    big = np.full((5, 32), -7, np.float32)
    r = fs.gather([1, 2], out=big)
    assert r.shape == (2, 32) and np.shares_memory(r, big)  # the rows written, not the stale ones
    with pytest.raises(ValueError, match="requires grad"):
        fs.gather([1, 2], out=torch.zeros(2, 32, requires_grad=True))
    with pytest.raises(ValueError, match="seed 6000"):
        s.sample([6000])
    with pytest.raises(ValueError, match="appears more than once"):
        s.sample([4, 4])
    with pytest.raises(TypeError, match="seeds must be integers"):
        s.sample(["a"])
    with pytest.raises(ValueError, match="fanout"):
        tiergnn.Sampler(ds, [0])
    with pytest.raises(ValueError, match="split must be one of"):
        ds.split("training")
    with pytest.raises(ValueError, match="tier must be one of"):
        fs.tier("disk")
    with pytest.raises(ValueError, match="estimator"):
        tiergnn.profile(ds, estimator="pagerank")
    with pytest.raises((OSError, ValueError), match="nope"):
        tiergnn.Dataset(tmp_path / "nope")
    with pytest.raises(ValueError, match="budget|gpu"):
        tiergnn.prepare(ds, tmp_path / "p", gpu_mem="-5M")
    assert not (tmp_path / "p").exists()
    with pytest.raises(tiergnn.BudgetError, match="gpu_mem") as e:  # the keyword, not the CLI's --gpu-mem
        tiergnn.prepare(ds, tmp_path / "p", gpu_mem="1K")
    assert "--" not in str(e.value)
    assert not (tmp_path / "p").exists()
    with pytest.raises(ValueError, match="NUL"):
        tiergnn.Dataset(str(tmp_path) + "\x00/x")
    assert tiergnn.Dataset(os.fsencode(ds.path)).num_nodes == ds.num_nodes  # a bytes path
    fs.close()
    with pytest.raises(ValueError, match="closed"):
        fs.gather([1])
    # epoch_batches follows sample()'s rules (it read out of bounds on a prepared dataset before).
    with pytest.raises(ValueError, match="outside"):
        s.epoch_batches([10**12], 2, 0)
    with pytest.raises(ValueError, match="outside"):
        s.epoch_batches([5000, -3], 2, 0)
    with pytest.raises(ValueError, match="more than once"):
        s.epoch_batches([1, 1, 2], 2, 0)
    with pytest.raises(ValueError, match="epoch"):
        s.epoch_batches([1, 2], 2, -1)
    for g, c in ((100, 50), (0, 6001)):
        with pytest.raises(ValueError, match="tier boundaries"):
            tiergnn.FeatureStore(ds, g=g, c=c)
    with pytest.raises(ValueError, match="disk_readers"):
        tiergnn.FeatureStore(ds, disk_readers=0)
    with pytest.raises(ValueError, match="empty"):
        tiergnn.prepare(ds, "")
    with pytest.raises(ValueError, match="at least one epoch"):
        tiergnn.prepare(ds, tmp_path / "q", run_epochs=0)


def test_close_while_another_thread_gathers(community):
    # close() drops the store; a gather already running in another thread finishes on it, correctly.
    ds = tiergnn.Dataset(community)
    features = np.asarray(ds.features)
    ids = np.random.default_rng(0).integers(0, 6000, 2_000_000)
    for g, c in ((500, 6000), (0, 0)):
        for pause in (0.001, 0.02, 0.1):
            fs = tiergnn.FeatureStore(ds, g=g, c=c)
            got = {}

            def run():
                try:
                    got["rows"] = fs.gather(ids)
                except ValueError as e:  # close() came first
                    got["error"] = e

            th = threading.Thread(target=run)
            th.start()
            time.sleep(pause)
            fs.close()
            th.join()
            if "rows" in got:
                np.testing.assert_array_equal(got["rows"], features[ids])
            else:
                assert "closed" in str(got["error"])


# ---- lifetime ------------------------------------------------------------------------------------

def test_arrays_outlive_their_owners(community):
    ds = tiergnn.Dataset(community)
    feats, indptr = ds.features, torch.from_dlpack(ds._d.indices)
    expected = np.load(f"{community}/features.npy")[:10].copy()
    del ds
    gc.collect()
    np.testing.assert_array_equal(feats[:10], expected)  # the mapping lives while a view does
    assert indptr.shape[0] > 0 and int(indptr[-1]) >= 0

    s = tiergnn.Sampler(community, [5], seed=0)
    b = s.sample([1, 2, 3])
    nodes = torch.from_dlpack(b.blocks[0].src_nodes)
    del b, s
    gc.collect()
    assert nodes[:3].tolist() == [1, 2, 3]

    fs = tiergnn.FeatureStore(community)
    x = fs.gather([7, 8])
    view = fs.tier("host")
    with pytest.raises(RuntimeError, match="tier view"):
        fs.close()
    del fs
    gc.collect()
    assert view[7].tolist() == x[0].tolist()  # the view keeps the store alive
    del view
    gc.collect()


# ---- threads -------------------------------------------------------------------------------------

def test_concurrent_calls_match_sequential(prepared):
    ds = tiergnn.Dataset(prepared)
    s = tiergnn.Sampler(ds, [10, 5], seed=1)
    fs = tiergnn.FeatureStore(ds, disk_readers=2)
    batches = s.epoch_batches(ds.split("train"), 64, epoch=0)[:12]
    ref = []
    for i, seeds in enumerate(batches):
        b = s.sample(seeds, 0, i)
        ref.append((b.input_nodes.copy(), fs.gather(b.input_nodes)))
    fs.reset_traffic()
    got = [None] * len(batches)
    errors = []

    def work(k):
        try:
            for i in range(k, len(batches), 4):
                b = s.sample(batches[i], 0, i)
                got[i] = (b.input_nodes.copy(), fs.gather(b.input_nodes))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (n1, x1), (n2, x2) in zip(ref, got):
        np.testing.assert_array_equal(n1, n2)
        np.testing.assert_array_equal(x1, x2)
    assert fs.traffic["rows"] == sum(len(n) for n, _ in ref) and fs.traffic["batches"] == len(batches)


# ---- CUDA store ----------------------------------------------------------------------------------

def test_cuda_store_without_a_gpu_fails_cleanly(community):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU (see test_cuda_store_returns_cuda_tensors)")
    with pytest.raises(tiergnn.DeviceError, match="CUDA"):
        tiergnn.FeatureStore(community, device="cuda")
    with pytest.raises(tiergnn.DeviceError, match="cuda:7"):  # the request named, not a raw CUDA call
        tiergnn.FeatureStore(community, device="cuda:7")
    with pytest.raises(ValueError, match="unknown device"):
        tiergnn.FeatureStore(community, device="tpu")


def test_cuda_store_returns_cuda_tensors(prepared):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    ds = tiergnn.Dataset(prepared)
    cpu, gpu = tiergnn.FeatureStore(ds), tiergnn.FeatureStore(ds, device="cuda")
    assert gpu.device == "cuda:0" and (gpu.g, gpu.c) == (cpu.g, cpu.c)
    ids = np.random.default_rng(3).integers(0, ds.num_nodes, 5000)
    x = gpu.gather(ids)
    assert x.is_cuda and x.dtype == torch.float32 and tuple(x.shape) == (5000, 32)
    np.testing.assert_array_equal(x.cpu().numpy(), cpu.gather(ids))
    for k in ("gpu_rows", "host_rows", "disk_rows"):
        assert gpu.traffic[k] == cpu.traffic[k]
    with pytest.raises(ValueError, match="tier views"):
        gpu.tier("gpu")


def test_objects_pickle_as_how_they_were_opened(community):
    import pickle

    ds = tiergnn.Dataset(community)
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2.path == ds.path and ds2.num_nodes == ds.num_nodes
    s = tiergnn.Sampler(ds, fanouts=[4, 3], seed=7)
    s2 = pickle.loads(pickle.dumps(s))
    seeds = np.arange(0, 600, 7)
    a, b = s.sample(seeds, epoch=2, batch=5), s2.sample(seeds, epoch=2, batch=5)
    assert np.array_equal(a.input_nodes, b.input_nodes)
    fs = tiergnn.FeatureStore(ds, g=100, c=3000)
    fs2 = pickle.loads(pickle.dumps(fs))
    assert (fs2.g, fs2.c) == (100, 3000)
    ids = np.array([0, 150, 2999, 5999])
    assert np.array_equal(fs.gather(ids), fs2.gather(ids))
    assert fs2.traffic["batches"] == 1  # its own ledger
    fs.close()
    with pytest.raises(TypeError, match="closed"):
        pickle.dumps(fs)


def test_pickles_name_the_directory_absolutely_and_refuse_a_regenerated_one(cli, tmp_path, monkeypatch):
    """A pickled Dataset (and the Sampler / FeatureStore over it) reopens the same directory whatever the
    unpickling process's working directory, and refuses one regenerated since; a FeatureStore made from
    an open Dataset whose files were replaced refuses to mix them."""
    import pickle
    import subprocess

    def gen(where, seed, nodes=300):
        subprocess.run([cli, "-q", "generate", "community", str(where), "--nodes", str(nodes), "--feature-dim", "8",
                        "--classes", "4", "--seed", str(seed), "--force"], check=True)

    monkeypatch.chdir(tmp_path)
    gen("pk", 1)
    (tmp_path / "other").mkdir()
    gen(tmp_path / "other" / "pk", 2, nodes=200)
    ds = tiergnn.Dataset("pk")
    blob = pickle.dumps(tiergnn.Sampler(ds, [3, 2]))
    monkeypatch.chdir(tmp_path / "other")
    assert pickle.loads(blob).dataset.num_nodes == 300
    gen(tmp_path / "pk", 3)  # the same shape, other data
    with pytest.raises(ValueError, match="changed since the Dataset was pickled"):
        pickle.loads(blob)
    monkeypatch.chdir(tmp_path)  # where ds was opened (its files are named relative to it)
    with pytest.raises(OSError, match="since the dataset was opened"):
        tiergnn.FeatureStore(ds)


def test_integer_arguments_are_refused_not_truncated(community):
    ds = tiergnn.Dataset(community)
    with pytest.raises(TypeError, match="fanout"):
        tiergnn.Sampler(ds, fanouts=[1.5])
    with pytest.raises(TypeError, match="fanout"):
        tiergnn.Sampler(ds, fanouts=[True])
    with pytest.raises(ValueError, match="empty entry"):
        tiergnn.Sampler(ds, fanouts="5,,3")
    s = tiergnn.Sampler(ds, fanouts="5, 3")
    assert s.fanouts == [5, 3]
    with pytest.raises(TypeError, match="epoch"):
        s.sample(np.arange(4), epoch=1.5)
    assert tiergnn.Sampler(ds, fanouts=np.array([3, 2])).fanouts == [3, 2]


def test_out_of_range_integers_and_wrong_types_are_named(community):
    """Values the extension's C++ types cannot hold, and wrong types, name the argument and the value
    (not nanobind's "incompatible function arguments")."""
    ds = tiergnn.Dataset(community)
    cases = [
        (lambda: tiergnn.Sampler(ds, [5], seed=-1), ValueError, r"seed must lie in \[0, 2\*\*64\), got -1"),
        (lambda: tiergnn.Sampler(ds, [5], seed=2**64), ValueError, "seed must lie in"),
        (lambda: tiergnn.Sampler(ds, [5]).sample([1], epoch=2**63), ValueError, "epoch must lie in"),
        (lambda: tiergnn.FeatureStore(ds, g=2**64, c=2**64), ValueError, "g must lie in"),
        (lambda: tiergnn.FeatureStore(ds, disk_readers=2**31), ValueError, "disk_readers must lie in"),
        (lambda: tiergnn.FeatureStore(ds, reserve_bytes=-1), ValueError, "reserve_bytes must lie in"),
        (lambda: tiergnn.profile(ds, run_epochs=2**31), ValueError, "run_epochs must lie in"),
        (lambda: tiergnn.profile(ds, run_epochs=0), ValueError, "run_epochs must lie in"),
        (lambda: tiergnn.profile(ds, seed=-1), ValueError, "seed must lie in"),
        (lambda: ds.split(None), TypeError, "split must be one of"),
        (lambda: ds.check("no"), TypeError, "checksums must be True or False"),
        (lambda: tiergnn.FeatureStore(ds).tier(None), TypeError, "tier must be one of"),
        (lambda: tiergnn.Dataset(None), TypeError, "must be a str or os.PathLike"),
        (lambda: tiergnn.Dataset(5), TypeError, "must be a str or os.PathLike"),
    ]
    for call, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            call()


def test_ctrl_c_stops_profile_and_prepare(community, tmp_path):
    """SIGINT during a long profile() / prepare() raises KeyboardInterrupt promptly and leaves no
    partial output (the C++ work runs without the GIL, where Python's own handler is never reached)."""
    import signal
    import subprocess
    import sys

    out = tmp_path / "stopped"
    code = (
        "import sys, tiergnn\n"
        "ds = tiergnn.Dataset(sys.argv[1])\n"
        "print('started', flush=True)\n"
        "try:\n"
        "    if sys.argv[2] == 'profile':\n"
        "        tiergnn.profile(ds, estimator='cvip:10000', fanouts=[5, 5], batch_size=1)\n"
        "    else:\n"
        "        tiergnn.prepare(ds, sys.argv[3], estimator='presample:10000', fanouts=[5, 5], batch_size=1)\n"
        "except KeyboardInterrupt as e:\n"
        "    print('interrupted:', e, flush=True)\n"
        "    sys.exit(3)\n"
    )
    for what in ("profile", "prepare"):
        p = subprocess.Popen([sys.executable, "-c", code, community, what, str(out)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        assert p.stdout.readline().strip() == "started"
        time.sleep(1.5)  # well inside the call (it would run for days)
        p.send_signal(signal.SIGINT)
        try:
            rest, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            pytest.fail(f"{what}() ignored Ctrl-C")
        assert p.returncode == 3 and "interrupted:" in rest, (what, p.returncode, rest)
        assert not out.exists() and not [f for f in os.listdir(tmp_path) if ".tmp-" in f], os.listdir(tmp_path)


def test_sigterm_during_prepare_ends_the_process_without_litter(cli, tmp_path):
    """SIGTERM (a scheduler's time limit, kill) while prepare() writes its output: the call stops,
    its partial output is removed, and the process then ends by SIGTERM as it would have."""
    import signal
    import subprocess
    import sys

    src = tmp_path / "src"
    subprocess.run([cli, "-q", "generate", "rmat", str(src), "--scale", "18", "--edge-factor", "16",
                    "--feature-dim", "128", "--classes", "4"], check=True)
    code = ("import sys, tiergnn\n"
            "tiergnn.prepare(sys.argv[1], sys.argv[2], estimator='degree', fanouts=[5, 5], batch_size=64)\n"
            "print('finished', flush=True)\n")
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-c", code, str(src), str(out)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    seen = False
    deadline = time.time() + 60
    while not seen and time.time() < deadline and p.poll() is None:  # the temporary output appears
        seen = any(f.startswith(".out.tmp-") for f in os.listdir(tmp_path))
        time.sleep(0.002)
    p.send_signal(signal.SIGTERM)
    rest, _ = p.communicate(timeout=60)
    if not seen:
        pytest.skip("prepare() finished before its output could be caught being written")
    assert p.returncode == -signal.SIGTERM, (p.returncode, rest)
    assert not out.exists() and not [f for f in os.listdir(tmp_path) if ".tmp-" in f], os.listdir(tmp_path)


def test_a_file_cut_short_while_open_raises_oserror(community, tmp_path):
    """Another program truncating a mapped graph file: sample() and check() raise OSError naming
    it, where reading the mapping would kill the interpreter with SIGBUS."""
    import shutil

    d = tmp_path / "cut"
    shutil.copytree(community, d)
    ds = tiergnn.Dataset(str(d))
    s = tiergnn.Sampler(ds, [5, 5])
    s.sample(np.arange(100))
    os.truncate(d / "indices.npy", 200)
    for call in (
        lambda: s.sample(np.arange(100)),
        lambda: ds.check(),
        lambda: tiergnn.profile(ds, fanouts=[5, 5], batch_size=64),
        lambda: tiergnn.prepare(ds, str(tmp_path / "p"), fanouts=[5, 5], batch_size=64),
    ):
        with pytest.raises(OSError, match="indices.npy.*shorter"):
            call()
    assert not (tmp_path / "p").exists()


def test_feature_store_arguments_and_context_exit(community, prepared):
    ds = tiergnn.Dataset(community)
    for kw in ({"g": 1.5, "c": 10}, {"g": "5", "c": "10"}, {"disk_readers": 2.7}, {"reserve_bytes": 1e3}):
        with pytest.raises(TypeError):
            tiergnn.FeatureStore(ds, **kw)
    with pytest.raises(ValueError, match="reserve_bytes"):
        tiergnn.FeatureStore(ds, reserve_bytes=-1)
    with pytest.raises(ValueError, match="run_epochs"):
        tiergnn.profile(ds, fanouts=[5, 5], batch_size=64, run_epochs=-1)
    with pytest.raises(ValueError, match="train_ids is empty"):
        tiergnn.profile(ds, fanouts=[5, 5], batch_size=64, train_ids=[])
    # An exception inside `with` is not replaced by close()'s refusal while a tier view is alive.
    with pytest.raises(KeyError, match="mine"):
        with tiergnn.FeatureStore(prepared) as f:
            view = f.tier("gpu")
            raise KeyError("mine")
    del view


def test_a_path_that_is_not_utf8_is_named(cli, tmp_path):
    """A Latin-1 file name (bytes that are not UTF-8) cannot reach the C++ side as UTF-8: a clear
    ValueError naming the path, not nanobind's "incompatible function arguments"; the command line
    takes such a name."""
    import subprocess

    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9"
    subprocess.run([cli, "-q", "generate", "community", raw, "--nodes", "50", "--classes", "2"], check=True)
    for path in (raw, os.fsdecode(raw)):
        with pytest.raises(ValueError, match="not valid UTF-8"):
            tiergnn.Dataset(path)


def test_prepare_takes_a_path_and_a_real_flag(community, tmp_path):
    """overwrite="False" replaced a directory (bool("False") is True), and an output of None or 5
    wrote ./None or ./5 (round 12, F2): both are TypeErrors now, and nothing is written."""
    ds = tiergnn.Dataset(community)
    out = tmp_path / "p"
    tiergnn.prepare(ds, out, fanouts=[5], batch_size=64)
    before = (out / "plan.json").read_bytes()
    for bad in ("False", 0.0001, None):
        with pytest.raises(TypeError, match="overwrite must be True or False"):
            tiergnn.prepare(ds, out, fanouts=[5], batch_size=64, overwrite=bad)
    assert (out / "plan.json").read_bytes() == before
    for where in (None, 5):
        with pytest.raises(TypeError, match="output path must be a str or os.PathLike"):
            tiergnn.prepare(ds, where, fanouts=[5], batch_size=64)
    assert not os.path.exists("None") and not os.path.exists("5")
    with pytest.raises(TypeError, match="checksums must be True or False"):
        ds.check(checksums="yes")


def test_argument_types_name_the_argument(community):
    """Round 12 (F3, F4, F8, F9): a non-str estimator, fanouts that are no sequence, a dataset that is
    neither a Dataset nor a path say which argument is wrong; empty id tensors are no ids."""
    ds = tiergnn.Dataset(community)
    for bad in (None, 5):
        with pytest.raises(TypeError, match="estimator must be a str"):
            tiergnn.profile(ds, estimator=bad, fanouts=[5], batch_size=64)
    for bad in (5, None):
        with pytest.raises(TypeError, match="fanouts must be a sequence of integers"):
            tiergnn.Sampler(ds, fanouts=bad)
    torch = pytest.importorskip("torch")
    assert tiergnn._ids(torch.tensor([])).shape == (0,)
    pyg = pytest.importorskip("tiergnn.pyg")
    with pytest.raises(TypeError, match="dataset must be a tiergnn.Dataset or a directory path"):
        pyg.TierFeatureStore(None)
    assert pyg.TierFeatureStore(os.fsencode(community)).dataset.num_nodes == ds.num_nodes
