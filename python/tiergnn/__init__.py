"""tiergnn for Python: neighbour sampling, hot-first prepared datasets and the tiered feature store.

Arrays are handed out zero-copy: NumPy arrays that view tiergnn's own memory (the dataset's
memory-mapped files, a sampled batch, a gathered buffer, a tier of the store). They implement the
DLPack protocol, so ``torch.from_dlpack(a)`` shares the memory too. The GIL is released while
tiergnn samples and gathers, so several Python threads can call it at once.

See python/README.md for the API and ``tiergnn.pyg`` for PyTorch Geometric's stores and sampler.
"""
from __future__ import annotations

import hashlib
import json
import operator
import os
from typing import Iterable, Optional, Sequence

import numpy as np

from . import _tiergnn as _C

__version__ = _C.__version__
BudgetError = _C.BudgetError
DeviceError = _C.DeviceError

__all__ = ["Dataset", "Sampler", "Batch", "FeatureStore", "profile", "prepare", "estimator_names", "BudgetError", "DeviceError"]


def _np(a):
    """A DLPack object from the extension as a NumPy array (no copy), or None."""
    return None if a is None else np.from_dlpack(a)


def _ids(x, what: str = "ids") -> np.ndarray:
    """Node ids as a 1-d C-contiguous int64 NumPy array; no copy when they already are one."""
    mod = type(x).__module__
    if mod.startswith("torch"):
        if x.device.type != "cpu":
            raise ValueError(f"{what} must be a CPU tensor, got one on {x.device}")
        # An empty tensor of any dtype (torch.tensor([]) is float32) is no ids, as an empty array is.
        if x.numel() == 0:
            return np.zeros(0, dtype=np.int64)
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == __import__("torch").bool:
            raise TypeError(f"{what} must be integers, got a tensor of {x.dtype}")
        x = x.detach().contiguous().numpy()
    a = np.asarray(x)
    if a.size == 0 and a.dtype.kind not in "iu":
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got an array of {a.dtype}")
    if a.ndim != 1:
        if a.ndim == 0:
            a = a.reshape(1)
        else:
            raise ValueError(f"{what} must be one-dimensional (1-d), got shape {a.shape}")
    if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what}: id {int(a.max())} is too large")
    return np.ascontiguousarray(a, dtype=np.int64)


_I64 = (-2**63, 2**63)  # [lo, hi) of the extension's integer types
_U64 = (0, 2**64)
_I32 = (-2**31, 2**31)


def _int(v, what: str, bounds=_I64) -> int:
    """An integer argument as int; floats (1.5 is not 1), bools, strings and values outside
    bounds ([lo, hi), the C++ type's range by default) are refused by name."""
    if isinstance(v, bool) or isinstance(v, (str, bytes)):
        raise TypeError(f"{what} must be an integer, got {v!r}")
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {v!r} ({type(v).__name__})") from None
    lo, hi = bounds
    if not lo <= i < hi:
        def show(b):  # 2**63 rather than 9223372036854775808
            m = abs(b)
            return f"{'-' if b < 0 else ''}2**{m.bit_length() - 1}" if m >= 2**16 and m & (m - 1) == 0 else str(b)
        raise ValueError(f"{what} must lie in [{show(lo)}, {show(hi)}), got {i}")
    return i


def _str(v, what: str, choices) -> str:
    """A string argument that must be one of choices; anything else is refused by name."""
    if not isinstance(v, str):
        raise TypeError(f"{what} must be one of {', '.join(map(repr, choices))}, got {v!r}")
    if choices and v not in choices:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, choices))}, got {v!r}")
    return v


def _budget(v, what: str) -> str:
    """A memory budget: a string ("10%", "2G", "512M") or a whole number of bytes."""
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise TypeError(f"{what} must be a string such as '10%' or '2G', or a number of bytes, got {v!r}")
    return str(v)


def _fanouts(f: Iterable[int]) -> list:
    if isinstance(f, str):
        toks = [t.strip() for t in f.split(",")]
        if not all(toks):
            raise ValueError(f"fanouts {f!r}: an empty entry; write e.g. \"15,10,5\"")
        try:
            return [int(t) for t in toks]
        except ValueError:
            raise ValueError(f"fanouts {f!r}: every entry must be an integer (-1 = all neighbours)") from None
    if isinstance(f, (bytes, dict, set)) or not isinstance(f, Iterable):
        raise TypeError(f"fanouts must be a sequence of integers such as [15, 10, 5] (-1 = all neighbours), "
                        f"got {type(f).__name__} ({f!r})")
    return [_int(v, "a fanout") for v in f]


def _estimator(e) -> str:
    if not isinstance(e, str):
        raise TypeError(f"estimator must be a str such as \"cvip\" or \"presample:2\", got {type(e).__name__} ({e!r})")
    return e


def _utf8_path(p, what):
    # The module passes paths to C++ as UTF-8; a file name in another encoding (Latin-1 bytes, which
    # os.fsdecode turns into surrogates) cannot be, and would fail with nanobind's "incompatible
    # function arguments".
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {p!r} is not valid UTF-8 (a file name in another encoding): "
                         "rename it, or use the tiergnn command line, which takes any file name") from None
    return p


def _flag(v, what):
    # A flag is True or False (numpy's bool too): bool("False") is True, and an overwrite given
    # "False" replaced a directory (R12-F2).
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise TypeError(f"{what} must be True or False, got {type(v).__name__} ({v!r})")


def _out_path(out, what):
    if not isinstance(out, (str, bytes, os.PathLike)):
        raise TypeError(f"{what} must be a str or os.PathLike, got {type(out).__name__} ({out!r})")
    p = _utf8_path(os.fsdecode(out), what)
    if not p or "\x00" in p:
        raise ValueError(f"{what} {p!r} is empty or contains a NUL byte")
    return p


class Dataset:
    """A tiergnn dataset directory (imported, generated or prepared), memory-mapped read-only."""

    def __init__(self, path):
        if isinstance(path, Dataset):
            self._d, self._where, self._stamp = path._d, path._where, path._stamp
            return
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise TypeError(f"dataset path must be a str or os.PathLike, got {type(path).__name__} ({path!r})")
        p = _utf8_path(os.fsdecode(path), "dataset path")
        if "\x00" in p:
            raise ValueError(f"dataset path {p!r} contains a NUL byte")
        self._identify(_C.Dataset(p), p)

    def _identify(self, handle, p):
        # For pickling: the directory as an absolute path (a relative one would be resolved in the
        # unpickling process's working directory) and a digest of its meta.json (its arrays' counts
        # and checksums), so that a directory regenerated since is refused, not silently reopened.
        self._d, self._where, self._stamp = handle, os.path.abspath(p), _meta_digest(p)
        return self

    path = property(lambda self: self._d.path)
    name = property(lambda self: self._d.name)
    num_nodes = property(lambda self: self._d.num_nodes)
    num_edges = property(lambda self: self._d.num_edges)
    directed = property(lambda self: self._d.directed)
    feature_dim = property(lambda self: self._d.feature_dim)
    num_classes = property(lambda self: self._d.num_classes)
    prepared = property(lambda self: self._d.prepared)
    indptr = property(lambda self: _np(self._d.indptr), doc="int64 (N+1,): CSR offsets of in-neighbour lists")
    indices = property(lambda self: _np(self._d.indices), doc="int32|int64 (E,): sources u of edges u -> v, by v")
    features = property(lambda self: _np(self._d.features), doc="float32|float16 (N, D) or None")
    labels = property(lambda self: _np(self._d.labels), doc="int32|int64 (N,) or None; -1 = unlabelled")
    order = property(lambda self: _np(self._d.order), doc="prepared datasets: new id -> original id; else None")

    @property
    def node_keys(self):
        """What makes a prepared dataset sample like its original (the order); None otherwise."""
        return self.order

    def split(self, which: str):
        """int64 ids of the "train", "valid" or "test" split, or None when the dataset has none."""
        return _np(self._d.split(_str(which, "split", ("train", "valid", "test"))))

    @property
    def plan(self) -> Optional[dict]:
        """The tier plan (plan.json) of a prepared dataset, with g and c; None otherwise."""
        r = self._d.plan()
        if r is None:
            return None
        p = json.loads(r.pop("json"))
        p.update(r)  # g, c, gpu_budget, host_budget, predicted_gpu_hit_rate, ... at the top level
        return p

    def __reduce__(self):  # pickled as its absolute path: reopened (and validated again) where it is unpickled
        return (_reopen_dataset, (self._where, self._stamp))

    def check(self, checksums: bool = True) -> None:
        """Full validation: CSR, ranges, splits and (by default) file checksums. Raises ValueError."""
        self._d.check(_flag(checksums, "checksums"))

    def __repr__(self):
        return (f"tiergnn.Dataset({self.path!r}: {self.num_nodes} nodes, {self.num_edges} edges, "
                f"{self.feature_dim} features, {self.num_classes} classes{', prepared' if self.prepared else ''})")


def _meta_digest(path):
    try:
        with open(os.path.join(path, "meta.json"), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _reopen_dataset(path, stamp):
    d = Dataset(path)
    if stamp is not None and d._stamp != stamp:
        raise ValueError(f"{path}: changed since the Dataset was pickled (its meta.json differs: regenerated or "
                         f"replaced?); open it anew rather than unpickling the old one")
    return d


class Batch:
    """The blocks of one sampled mini-batch (see python/README.md)."""

    __slots__ = ("_b", "blocks")

    def __init__(self, b):
        self._b = b
        self.blocks = b.blocks

    @property
    def input_nodes(self) -> np.ndarray:
        return np.from_dlpack(self.blocks[0].src_nodes)

    @property
    def seeds(self) -> np.ndarray:
        last = self.blocks[-1]
        return np.from_dlpack(last.src_nodes)[: last.num_dst]

    @property
    def num_sampled_edges(self) -> int:
        return self._b.num_sampled_edges

    def __len__(self):
        return len(self.blocks)

    def __repr__(self):
        return f"tiergnn.Batch({len(self.blocks)} blocks, {self.blocks[0].num_src} input nodes, {self.blocks[-1].num_dst} seeds)"


class Sampler:
    """Uniform neighbour sampling without replacement; fanouts in PyG order (15,10,5: 15 for the seeds).

    The same (seed, epoch, batch) gives the same blocks on any thread; on a prepared dataset the
    draws follow the original ids, as ``tiergnn train`` does.
    """

    def __init__(self, dataset, fanouts: Sequence[int] = (15, 10, 5), seed: int = 0):
        self.dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
        self._s = _C.Sampler(self.dataset._d, _fanouts(fanouts), _int(seed, "seed", _U64))

    fanouts = property(lambda self: list(self._s.fanouts))
    seed = property(lambda self: self._s.seed)

    def __reduce__(self):  # the same draws wherever it is unpickled: they depend on (seed, epoch, batch) only
        return (Sampler, (self.dataset, self.fanouts, self.seed))

    def sample(self, seeds, epoch: int = 0, batch: int = 0) -> Batch:
        """Samples the blocks of one batch; seeds must be distinct ids in [0, N)."""
        return Batch(self._s.sample(_ids(seeds, "seeds"), _int(epoch, "epoch"), _int(batch, "batch")))

    def epoch_batches(self, train_ids, batch_size: int, epoch: int) -> list:
        """Seeds of each batch of one epoch, shuffled as ``tiergnn train`` shuffles them."""
        return [np.asarray(b, dtype=np.int64) for b in self._s.epoch_batches(_ids(train_ids, "train_ids"), _int(batch_size, "batch_size"), _int(epoch, "epoch"))]


class FeatureStore:
    """The tiered feature store: gather(ids) from the GPU, host or disk tier by id, with a traffic ledger.

    On a prepared dataset the tiers come from its plan; otherwise every row is in the host tier
    (or pass g and c). ``device="cpu"`` (default): the GPU tier is a host buffer standing in for
    device memory and gather returns NumPy arrays. ``device="cuda"`` (or "cuda:N", CUDA builds on
    a machine with a GPU): the GPU tier lives in device memory, the host tier is read zero-copy
    from pinned memory, and gather returns CUDA torch tensors (through DLPack, no copy).
    """

    def __init__(self, dataset, disk_readers: int = 4, g: Optional[int] = None, c: Optional[int] = None,
                 device: str = "cpu", reserve_bytes: int = 0):
        self.dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
        if (g is None) != (c is None):
            raise ValueError("give both g and c, or neither")
        disk_readers = _int(disk_readers, "disk_readers", (1, 1025))
        reserve_bytes = _int(reserve_bytes, "reserve_bytes", (0, 2**63))
        if g is not None:
            g, c = _int(g, "g"), _int(c, "c")
            if g < 0 or c < 0:
                raise ValueError(f"tier boundaries must be >= 0, got g={g}, c={c}")
        if not isinstance(device, str):
            raise TypeError(f"device must be a str such as 'cpu' or 'cuda:0', got {device!r}")
        self._args = (disk_readers, g, c, device, reserve_bytes)
        self._s = _C.FeatureStore(self.dataset._d, disk_readers, -1 if g is None else g, -1 if c is None else c,
                                  device, reserve_bytes)

    def __reduce__(self):
        """Pickled as how it was opened: unpickling opens a new store over the same dataset and tiers
        (for DataLoader workers under "spawn"/"forkserver"), with its own traffic ledger."""
        if self.closed:
            raise TypeError("cannot pickle a closed tiergnn.FeatureStore")
        return (FeatureStore, (self.dataset,) + self._args)

    num_rows = property(lambda self: self._s.num_rows)
    dim = property(lambda self: self._s.dim)
    row_bytes = property(lambda self: self._s.row_bytes)
    g = property(lambda self: self._s.g)
    c = property(lambda self: self._s.c)
    device = property(lambda self: self._s.device)
    closed = property(lambda self: self._s.closed)

    def gather(self, ids, out=None):
        """float32 rows of ``ids`` (len(ids) x dim): a new array, or written into ``out``'s first rows
        (returned: ``out`` itself, or a view of its first len(ids) rows when it has more)."""
        i = _ids(ids)
        if out is None:
            on_cpu = self.device == "cpu"  # asked first: another thread may close() the store meanwhile
            rows = self._s.gather(i)
            if not on_cpu:
                import torch
                return torch.from_dlpack(rows)
            return np.from_dlpack(rows)
        mod = type(out).__module__
        if mod.startswith("torch"):
            import torch
            if out.dtype != torch.float32 or out.device.type != "cpu" or not out.is_contiguous() or out.dim() != 2:
                raise TypeError(f"out must be a contiguous 2-d float32 CPU tensor, got {out.dtype} {tuple(out.shape)} on {out.device}")
        elif isinstance(out, np.ndarray):
            if out.dtype != np.float32 or out.ndim != 2 or not out.flags.c_contiguous or not out.flags.writeable:
                raise TypeError(f"out must be a writable C-contiguous 2-d float32 array, got {out.dtype} {out.shape}")
        else:
            raise TypeError(f"out must be a numpy array or torch tensor, got {type(out).__name__}")
        if getattr(out, "requires_grad", False):
            raise ValueError("out requires grad: gather writes into it in place; pass a tensor without grad "
                             "(e.g. out.detach())")
        self._s.gather_into(i, out)
        return out if len(out) == len(i) else out[: len(i)]  # the rows written, never stale rows beyond

    @property
    def traffic(self) -> dict:
        """Rows and bytes gathered from each tier since creation or reset_traffic(), one batch per call."""
        return self._s.traffic

    def reset_traffic(self) -> None:
        self._s.reset_traffic()

    def tier(self, which: str) -> np.ndarray:
        """Writable view of the "gpu" or "host" tier buffer (rows [0, g) or [g, c), stored dtype)."""
        return np.from_dlpack(self._s.tier(_str(which, "tier", ("gpu", "host"))))

    def close(self) -> None:
        """Frees the tiers (a gather running in another thread finishes first, on them). Refuses
        (RuntimeError) while views from tier() are alive."""
        self._s.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except RuntimeError:
            # Tier views still alive: with an exception already on its way, that one is the news
            # (close() raising here would replace it); without one, the refusal is.
            if exc_type is None:
                raise

    def __repr__(self):
        if self.closed:
            return "tiergnn.FeatureStore(closed)"
        return f"tiergnn.FeatureStore({self.num_rows} rows x {self.dim}, g={self.g}, c={self.c}, device={self.device})"


def estimator_names() -> list:
    """The estimators profile() and prepare() accept, as forms: "presample:K", "cvip:K" and "hybrid:B"
    take a number in place of K or B ("presample:2"); the others are used as they are."""
    return list(_C.estimator_names())


def profile(dataset, estimator: str = "cvip", fanouts: Sequence[int] = (15, 10, 5), batch_size: int = 1024,
            seed: int = 0, run_epochs: int = 10, train_ids=None, max_batches: int = 0) -> dict:
    """Per-node hotness scores for the configured training (``tiergnn profile``). ``run_epochs`` is
    the CLI's --epochs (the oracle's run length); ``max_batches`` > 0: the run trains only the first
    that many batches of every epoch (--max-batches).

    Returns dict(estimator, scores=float64 (N,), seconds, edge_passes, details)."""
    d = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
    t = [] if train_ids is None else _ids(train_ids, "train_ids").tolist()
    if train_ids is not None and not t:
        raise ValueError("train_ids is empty: give the training nodes, or None for the dataset's training split")
    run_epochs = _int(run_epochs, "run_epochs", (1, 2**31))
    r = _C.profile(d._d, _estimator(estimator), _fanouts(fanouts), _int(batch_size, "batch_size"), _int(seed, "seed", _U64),
                   run_epochs, t, _int(max_batches, "max_batches", (0, 2**63)))
    return {"estimator": r["estimator"], "scores": np.from_dlpack(r["scores"]), "seconds": r["seconds"],
            "edge_passes": r["edge_passes"], "details": json.loads(r["details_json"])}


def prepare(src, out, estimator: str = "cvip", gpu_mem: str = "10%", host_mem: str = "100%",
            fanouts: Sequence[int] = (15, 10, 5), batch_size: int = 1024, seed: int = 0, run_epochs: int = 10,
            hidden: int = 128, overwrite: bool = False, max_batches: int = 0, model: str = "sage",
            heads: int = 4, out_heads: int = 1) -> Dataset:
    """Profiles ``src``, ranks nodes hottest first and writes the renumbered dataset to ``out``
    (``tiergnn prepare``). Budgets: bytes with K/M/G suffixes, or a % of the feature bytes.
    ``run_epochs`` is the CLI's --epochs, ``hidden`` the model width the GPU reserve assumes (--hidden),
    ``max_batches`` > 0: the training runs only the first that many batches of every epoch; ``model``
    ("sage", "gcn" or "gat"), ``heads`` and ``out_heads`` (GAT) the model the reserve is sized for."""
    d = src if isinstance(src, Dataset) else Dataset(src)
    where = _out_path(out, "output path")
    p = _C.prepare(d._d, where, _estimator(estimator),
                   _budget(gpu_mem, "gpu_mem"), _budget(host_mem, "host_mem"), _fanouts(fanouts), _int(batch_size, "batch_size"),
                   _int(seed, "seed", _U64), _int(run_epochs, "run_epochs", _I32), _int(hidden, "hidden"),
                   _flag(overwrite, "overwrite"), _int(max_batches, "max_batches", (0, 2**63)),
                   _str(model, "model", ("sage", "gcn", "gat")), _int(heads, "heads", _I32), _int(out_heads, "out_heads", _I32))
    return Dataset.__new__(Dataset)._identify(p, where)
