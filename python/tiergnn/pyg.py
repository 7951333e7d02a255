"""PyTorch Geometric on top of tiergnn: a remote backend (FeatureStore, GraphStore) and a sampler.

PyG's NodeLoader takes a (FeatureStore, GraphStore) pair and a BaseSampler. Here the feature store
serves node features through tiergnn's tiered store (so its traffic ledger counts every row a
mini-batch gathers) and labels from the dataset; the graph store exposes the dataset's CSR; the
sampler runs tiergnn's node-wise neighbour sampler and turns its message-flow blocks into the
subgraph PyG's own NeighborSampler returns.

Blocks to a PyG subgraph. tiergnn samples DGL-style blocks: hop h (block L-1-h) takes every node
known after hop h-1 as a destination, so the seeds and earlier nodes get fresh draws at every hop.
PyG's NeighborSampler expands each node once, at the hop after the one that first reached it,
with that hop's fanout. The conversion rebuilds exactly that subgraph from tiergnn's draws: hop 0
takes the seeds' in-edges from block L-1; hop h takes, from block L-1-h, the in-edges of the nodes
that hop h-1 reached for the first time; nodes reached only through draws that PyG would not make
are left out (they could not influence the seeds). Nodes come seeds first, then each hop's new
nodes in order of first appearance; edges come hop by hop, grouped by destination; row = source
(the sampled neighbour) and col = destination, so Data.edge_index flows messages towards the
seeds; num_sampled_nodes / num_sampled_edges follow PyG's per-hop convention (trim_to_layer).

Randomness: every call is keyed by (seed, epoch, batch) as in `tiergnn train`. The epoch is set by
`TierSampler.set_epoch` (the loader from `loader()` does it at the start of every epoch) and the
batch is the call's index in that epoch, also in DataLoader worker processes (batches are dealt
to workers round-robin), so a run is reproducible for a seed. With shuffle=True, `loader()` also
takes each epoch's batches from tiergnn's own shuffle, so batch b of epoch e has the same seeds
and the same draws as in `tiergnn train --seed S` (before the conversion above).

Homogeneous graphs only: group_name / edge_type / input_type None.
"""
from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from torch_geometric.data import FeatureStore, GraphStore, TensorAttr
from torch_geometric.data.graph_store import EdgeAttr, EdgeLayout
from torch_geometric.loader import NodeLoader
from torch_geometric.sampler import BaseSampler, NodeSamplerInput, SamplerOutput

import tiergnn

__all__ = [
    "TierFeatureStore",
    "TierGraphStore",
    "TierSampler",
    "TierEpochBatches",
    "TierNodeLoader",
    "blocks_to_sampler_output",
    "loader",
]


def _open_dataset(dataset: Any) -> Any:
    """A tiergnn.Dataset from a Dataset or a directory path."""
    if isinstance(dataset, tiergnn.Dataset):
        return dataset
    if isinstance(dataset, (str, bytes, os.PathLike)):
        return tiergnn.Dataset(dataset)  # bytes and paths as tiergnn.Dataset takes them
    raise TypeError(f"dataset must be a tiergnn.Dataset or a directory path (str or os.PathLike), "
                    f"got {type(dataset).__name__} ({dataset!r})")


def _tensor(obj: Any) -> Tensor:
    """A CPU tensor sharing the memory of a DLPack object (tiergnn arrays, numpy, torch)."""
    if isinstance(obj, Tensor):
        return obj
    if hasattr(obj, "__dlpack__"):
        return torch.from_dlpack(obj)
    return torch.as_tensor(np.asarray(obj))


def _long(obj: Any) -> Tensor:
    t = _tensor(obj)
    return t if t.dtype == torch.int64 else t.to(torch.int64)


def _id_array(obj: Any, what: str) -> np.ndarray:
    """Node ids given by a caller, as tiergnn._ids reads them (integers only: 1.5 is not node 1; 1-d),
    from a tensor on any device."""
    return tiergnn._ids(obj.detach().cpu() if isinstance(obj, Tensor) else obj, what)


def _read_only(what: str) -> RuntimeError:
    return RuntimeError(f"{what}: tiergnn stores are read-only (the data lives in the dataset directory); "
                        f"build a new dataset with the tiergnn CLI to change it")


def _check_homogeneous(name: Any, what: str) -> None:
    if name is not None:
        raise ValueError(f"{what} {name!r}: tiergnn datasets are homogeneous; use None")


# Feature store ####################################################################################


class TierFeatureStore(FeatureStore):
    r"""Read-only :class:`~torch_geometric.data.FeatureStore` over a tiergnn dataset.

    Attributes (``group_name`` None): ``"x"``, the node features (float32), gathered through the
    tiered :class:`tiergnn.FeatureStore` so that ``self.store.traffic`` counts the rows; and
    ``"y"``, the labels (int64, -1 = unlabelled). An index of None means all rows.

    Args:
        dataset: a :class:`tiergnn.Dataset` or its directory.
        store: a :class:`tiergnn.FeatureStore` of that dataset; by default one is opened
            (prepared datasets: tiers from the plan; otherwise every row in host memory).
        disk_readers: reader threads of the disk tier, when the store is opened here.
    """

    def __init__(self, dataset: Any, store: Any = None, disk_readers: int = 4):
        super().__init__()
        self.dataset = _open_dataset(dataset)
        if store is None and self.dataset.features is not None:
            store = tiergnn.FeatureStore(self.dataset, disk_readers=disk_readers)
        self.store = store
        self.num_nodes = int(self.dataset.num_nodes)
        self._has_labels = self.dataset.labels is not None
        self._labels: Optional[Tensor] = None

    def __getstate__(self):  # pickled without the labels' tensor (a view of the mapping): reopened lazily
        state = dict(self.__dict__)
        state["_labels"] = None
        return state

    # Helpers ----------------------------------------------------------------------------------

    def _ids(self, index: Any) -> np.ndarray:
        """Row ids as a contiguous int64 numpy array (None = all rows)."""
        n = self.num_nodes
        if index is None:
            return np.arange(n, dtype=np.int64)
        if isinstance(index, slice):
            return np.arange(n, dtype=np.int64)[index]
        if isinstance(index, (int, np.integer)):
            # A node id, not a position: -1 is refused as it is in a tensor of ids (it does not wrap).
            i = int(index)
            if not 0 <= i < n:
                raise IndexError(f"node {i} is outside [0, {n})")
            return np.array([i], dtype=np.int64)
        a = index.detach().cpu().numpy() if isinstance(index, Tensor) else np.asarray(index)
        if a.dtype == np.bool_:
            if a.shape != (n,):
                raise ValueError(f"index: a boolean mask must have one entry per node ({n}), got shape {a.shape}")
            a = np.flatnonzero(a)
        a = _id_array(a, "index")
        if a.size and (a.min() < 0 or a.max() >= n):
            bad = int(a.min()) if a.min() < 0 else int(a.max())
            raise IndexError(f"node {bad} is outside [0, {n})")
        return a

    def labels(self) -> Tensor:
        """All labels as int64 (converted once if the dataset stores int32). May view the dataset's
        read-only memory: do not write to it."""
        if self._labels is None:
            self._labels = _long(self.dataset.labels)
        return self._labels

    def _attr_names(self) -> List[str]:
        names = []
        if self.store is not None:
            names.append("x")
        if self._has_labels:
            names.append("y")
        return names

    # FeatureStore interface -------------------------------------------------------------------

    def _put_tensor(self, tensor: Any, attr: TensorAttr) -> bool:
        raise _read_only(f"put_tensor({attr.attr_name!r})")

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        raise _read_only(f"remove_tensor({attr.attr_name!r})")

    def _get_tensor(self, attr: TensorAttr) -> Optional[Tensor]:
        _check_homogeneous(attr.group_name, "group_name")
        if attr.attr_name not in self._attr_names():
            return None
        scalar = isinstance(attr.index, (int, np.integer))
        ids = self._ids(attr.index)
        if attr.attr_name == "x":
            if ids.size == 0:
                out = torch.empty((0, int(self.store.dim)), dtype=torch.float32)
            else:
                out = torch.from_dlpack(self.store.gather(ids))
        else:
            out = self.labels()[torch.from_numpy(ids)]  # a copy, also for all rows (the labels are read-only)
        return out[0] if scalar else out

    def _get_tensor_size(self, attr: TensorAttr) -> Optional[Tuple[int, ...]]:
        _check_homogeneous(attr.group_name, "group_name")
        if attr.attr_name not in self._attr_names():
            return None
        index = attr.index if attr.is_set("index") else None
        scalar = isinstance(index, (int, np.integer))
        rows = self.num_nodes if index is None else int(self._ids(index).size)
        row_shape = (int(self.store.dim),) if attr.attr_name == "x" else ()
        return row_shape if scalar else (rows, *row_shape)

    def get_all_tensor_attrs(self) -> List[TensorAttr]:
        # PyG's loaders set .index on these objects: return new ones on every call.
        return [TensorAttr(group_name=None, attr_name=name) for name in self._attr_names()]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.dataset.name!r}, attrs={self._attr_names()})"


# Graph store ######################################################################################


class TierGraphStore(GraphStore):
    r"""Read-only :class:`~torch_geometric.data.GraphStore` over a tiergnn dataset's graph.

    tiergnn keeps in-neighbour CSR: row v of (indptr, indices) lists the sources u of the edges
    u -> v. With PyG's edge_index convention (row = source, col = destination) that is CSC, which
    is served zero-copy as ``(row, colptr) = (indices, indptr)`` (int64; int32 indices are
    converted). COO and CSR are built on request.
    """

    def __init__(self, dataset: Any):
        super().__init__()
        self.dataset = _open_dataset(dataset)
        self.num_nodes = int(self.dataset.num_nodes)

    def _csc(self) -> Tuple[Tensor, Tensor]:
        return _long(self.dataset.indices), _long(self.dataset.indptr)

    def _put_edge_index(self, edge_index: Any, edge_attr: EdgeAttr) -> bool:
        raise _read_only("put_edge_index")

    def _remove_edge_index(self, edge_attr: EdgeAttr) -> bool:
        raise _read_only("remove_edge_index")

    def _get_edge_index(self, edge_attr: Optional[EdgeAttr]) -> Optional[Tuple[Tensor, Tensor]]:
        layout = EdgeLayout.CSC if edge_attr is None else edge_attr.layout
        if edge_attr is not None:
            if edge_attr.edge_type is not None:
                return None  # not found: get_edge_index raises KeyError
            if edge_attr.size is None:
                edge_attr.size = (self.num_nodes, self.num_nodes)
        row, colptr = self._csc()
        if layout == EdgeLayout.CSC:
            return row, colptr
        col = torch.repeat_interleave(torch.arange(self.num_nodes, dtype=torch.int64), colptr.diff())
        if layout == EdgeLayout.COO:
            return row, col
        # CSR over sources: sort the edges by source (stable, so destinations stay ascending).
        perm = torch.sort(row, stable=True).indices
        rowptr = torch.zeros(self.num_nodes + 1, dtype=torch.int64)
        rowptr[1:] = torch.cumsum(torch.bincount(row, minlength=self.num_nodes), 0)
        return rowptr, col[perm]

    def get_all_edge_attrs(self) -> List[EdgeAttr]:
        return [EdgeAttr(edge_type=None, layout=EdgeLayout.CSC, is_sorted=True,
                         size=(self.num_nodes, self.num_nodes))]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.dataset.name!r}, nodes={self.num_nodes})"


# Sampler ##########################################################################################


def _is_prefix_chain(blocks: Sequence[Any]) -> bool:
    """Whether each block's destinations are the next block's src_nodes (in order), so that every
    block's local ids index blocks[0].src_nodes. tiergnn's sampler builds its blocks that way."""
    for i in range(len(blocks) - 1):
        outer, inner = blocks[i], blocks[i + 1]
        n = int(inner.num_src)
        if int(outer.num_dst) != n or not torch.equal(_long(outer.src_nodes)[:n], _long(inner.src_nodes)):
            return False
    return True


def _first_appearance(ids: Tensor) -> Tensor:
    """The distinct values of `ids` in order of first appearance."""
    if ids.numel() == 0:
        return ids
    uniq, inv = torch.unique(ids, return_inverse=True)
    first = torch.full((uniq.numel(),), ids.numel(), dtype=torch.int64)
    first.scatter_reduce_(0, inv, torch.arange(ids.numel(), dtype=torch.int64), "amin")
    return uniq[torch.argsort(first)]


def _common_ids(blocks: Sequence[Any]):
    """One id space for all blocks: `space` (global ids) and, per block, its local id -> space id
    and space id -> destination index (-1: not a destination). None stands for the identity,
    which is the case for a prefix chain (space = blocks[0].src_nodes)."""
    if _is_prefix_chain(blocks):
        return _long(blocks[0].src_nodes), [None] * len(blocks), [None] * len(blocks)
    srcs = [_long(b.src_nodes) for b in blocks]
    space, inv = torch.unique(torch.cat(srcs), return_inverse=True)
    to_space, dst_index, at = [], [], 0
    for b, s in zip(blocks, srcs):
        t = inv[at:at + s.numel()]
        at += s.numel()
        nd = int(b.num_dst)
        d = torch.full((space.numel(),), -1, dtype=torch.int64)
        d[t[:nd]] = torch.arange(nd, dtype=torch.int64)
        to_space.append(t)
        dst_index.append(d)
    return space, to_space, dst_index


def _pyg_subgraph(blocks: Sequence[Any]):
    """PyG's sampled subgraph from tiergnn blocks (see the module docstring): hop h expands the
    nodes first reached at hop h-1 (the seeds at hop 0) with their draws in block L-1-h."""
    L = len(blocks)
    space, to_space, dst_index = _common_ids(blocks)
    last = blocks[L - 1]
    nseeds = int(last.num_dst)
    seeds = torch.arange(nseeds, dtype=torch.int64) if to_space[L - 1] is None else to_space[L - 1][:nseeds]
    position = torch.full((space.numel(),), -1, dtype=torch.int64)  # space id -> index in `node`
    position[seeds] = torch.arange(nseeds, dtype=torch.int64)
    order, frontier, count = [seeds], seeds, nseeds
    rows, cols, n_nodes, n_edges = [], [], [nseeds], []
    for hop in range(L):
        k = L - 1 - hop
        b = blocks[k]
        dst = frontier if dst_index[k] is None else dst_index[k][frontier]
        if bool((dst < 0).any()) or bool((dst >= int(b.num_dst)).any()):
            raise ValueError(f"block {k} lacks destinations that hop {hop} must expand: not tiergnn blocks?")
        indptr, indices = _long(b.indptr), _long(b.indices)
        start = indptr[dst]
        deg = indptr[dst + 1] - start
        total = int(deg.sum())
        offset = torch.arange(total, dtype=torch.int64) - torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
        src = indices[torch.repeat_interleave(start, deg) + offset]
        if to_space[k] is not None:
            src = to_space[k][src]
        new = _first_appearance(src[position[src] < 0])
        position[new] = torch.arange(count, count + new.numel(), dtype=torch.int64)
        count += new.numel()
        rows.append(position[src])
        cols.append(torch.repeat_interleave(position[frontier], deg))
        order.append(new)
        n_nodes.append(int(new.numel()))
        n_edges.append(total)
        frontier = new
    node = space[torch.cat(order)]  # a new tensor: the batch's memory is not kept alive
    return node, torch.cat(rows), torch.cat(cols), n_nodes, n_edges


def blocks_to_sampler_output(blocks: Sequence[Any], metadata: Any = None) -> SamplerOutput:
    """PyG's SamplerOutput for tiergnn blocks (objects with num_dst, num_src, src_nodes, indptr and
    indices, the arrays as DLPack objects, numpy arrays or tensors). See the module docstring."""
    if len(blocks) == 0:
        raise ValueError("a sampled batch needs at least one block")
    node, row, col, n_nodes, n_edges = _pyg_subgraph(blocks)
    return SamplerOutput(node=node, row=row, col=col, edge=None, batch=None, num_sampled_nodes=n_nodes,
                         num_sampled_edges=n_edges, metadata=metadata)


class TierSampler(BaseSampler):
    r"""PyG sampler backed by :class:`tiergnn.Sampler` (uniform node-wise neighbour sampling
    without replacement; ``fanouts`` in PyG's ``num_neighbors`` order, -1 = all).

    ``sample_from_nodes`` returns the subgraph PyG's NeighborSampler would (directional, not
    disjoint, no edge ids). Draws are keyed by (seed, epoch, batch): ``set_epoch(e)`` starts epoch
    ``e`` and each call takes the next batch number, so calls differ and a run is reproducible.
    For a prepared (renumbered) dataset the draws use the original ids, so they match those of
    the unprepared dataset up to renaming, as in ``tiergnn train``.
    """

    def __init__(self, dataset: Any, fanouts: Sequence[int], seed: int = 0):
        self.dataset = _open_dataset(dataset)
        self.fanouts = tiergnn._fanouts(fanouts)
        self.seed = tiergnn._int(seed, "seed", tiergnn._U64)
        self.sampler = tiergnn.Sampler(self.dataset, fanouts=self.fanouts, seed=self.seed)
        self.epoch = 0
        self._calls = 0

    @property
    def num_neighbors(self) -> List[int]:
        return list(self.fanouts)

    def set_epoch(self, epoch: int) -> None:
        """Start epoch `epoch`: the next call samples batch 0 of it."""
        self.epoch = tiergnn._int(epoch, "epoch")
        self._calls = 0

    def _next_batch(self) -> int:
        b = self._calls
        self._calls += 1
        info = torch.utils.data.get_worker_info()
        if info is not None:  # DataLoader deals batches to workers round-robin
            b = b * info.num_workers + info.id
        return b

    def sample_blocks(self, seeds: Any, epoch: Optional[int] = None, batch: Optional[int] = None) -> Any:
        """tiergnn's own batch (blocks) for `seeds`, keyed by (epoch, batch) or the counters."""
        ids = _id_array(seeds, "seeds")
        if batch is None:
            batch = self._next_batch()
        return self.sampler.sample(ids, epoch=self.epoch if epoch is None else tiergnn._int(epoch, "epoch"),
                                   batch=tiergnn._int(batch, "batch"))

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> SamplerOutput:
        if index.input_type is not None:
            raise ValueError(f"input_type {index.input_type!r}: tiergnn datasets are homogeneous")
        if index.time is not None:
            raise NotImplementedError("TierSampler does not do temporal sampling (seed times were given)")
        try:
            b = self.sample_blocks(index.node)
        except ValueError as e:  # tiergnn's sampler checks the seeds; say what in a loader causes repeats
            if "more than once" not in str(e):
                raise
            raise ValueError("TierSampler: a batch holds the same seed node more than once; tiergnn samples "
                             "distinct seeds (as `tiergnn train` does). A sampler that draws with replacement "
                             "(WeightedRandomSampler(replacement=True)) or repeated input_nodes can do that: "
                             "oversample by weighting the loss instead, or deduplicate the seeds") from e
        return blocks_to_sampler_output(b.blocks, metadata=(index.input_id, index.time))

    def sample_from_edges(self, index: Any, neg_sampling: Any = None) -> SamplerOutput:
        raise NotImplementedError("TierSampler samples from seed nodes only (NodeLoader); link-level "
                                  "sampling (LinkLoader) is not supported by tiergnn yet")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(fanouts={self.fanouts}, seed={self.seed})"


# Loader ###########################################################################################


class TierEpochBatches(torch.utils.data.Sampler):
    """Batches of positions into `input_nodes` in the order `tiergnn train` uses: each epoch's
    permutation comes from tiergnn's batcher (keyed by the sampler's seed and the epoch)."""

    def __init__(self, sampler: TierSampler, input_nodes: Tensor, batch_size: int, drop_last: bool = False):
        self.sampler = sampler
        self.ids = _id_array(input_nodes, "input_nodes")
        self.batch_size = tiergnn._int(batch_size, "batch_size")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self._sorted = np.argsort(self.ids, kind="stable")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = tiergnn._int(epoch, "epoch")

    def __len__(self) -> int:
        n = len(self.ids)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        batches = self.sampler.sampler.epoch_batches(self.ids, self.batch_size, self.epoch)
        for b in batches:
            if self.drop_last and len(b) < self.batch_size:
                break
            pos = np.searchsorted(self.ids, b, sorter=self._sorted)
            yield self._sorted[pos].tolist()


class TierNodeLoader(NodeLoader):
    """NodeLoader that starts a new sampler epoch on every pass (and a new tiergnn shuffle when
    the batches come from TierEpochBatches). `tier_dataset` (the tiergnn.Dataset),
    `feature_store` and `graph_store` are kept for callers (e.g. feature_store.store.traffic: with
    num_workers > 0 the workers gather through their own copies of the store, so this ledger counts
    only what the main process gathered)."""

    def __init__(self, data, node_sampler: TierSampler, **kwargs):
        if kwargs.get("persistent_workers") and kwargs.get("num_workers", 0) > 0:
            # A persistent worker keeps its copy of the sampler across epochs, so set_epoch below would
            # never reach it: its draws would be keyed by epoch 0 forever, silently unlike `tiergnn train`.
            raise ValueError("TierNodeLoader: persistent_workers=True is not supported (the workers would not "
                             "see the epoch that keys the neighbour draws); leave it False")
        if kwargs.get("in_order") is False and kwargs.get("num_workers", 0) > 0:
            # Each worker numbers its batches as round-robin dealing would give them to it; with
            # in_order=False the DataLoader deals by capacity, so the numbers (which key the draws)
            # would be other batches', and would change with worker timing.
            raise ValueError("TierNodeLoader: in_order=False is not supported with num_workers > 0 (the "
                             "neighbour draws are keyed by the batch number, which only round-robin dealing "
                             "keeps); leave it True")
        fs, gs = data
        # Rows are looked up by id: a store or graph of another dataset (a prepared copy is
        # renumbered) would hand every batch other nodes' features and labels without a word.
        where = os.path.realpath(str(node_sampler.dataset.path)) if isinstance(node_sampler, TierSampler) else None
        for part, name in ((fs, "feature_store"), (gs, "graph_store")):
            other = getattr(part, "dataset", None)
            if where is not None and isinstance(other, tiergnn.Dataset) and \
                    os.path.realpath(str(other.path)) != where:
                raise ValueError(f"TierNodeLoader: the {name} is of {other.path!r} but the sampler samples "
                                 f"{node_sampler.dataset.path!r}: pass stores of the same dataset")
        super().__init__(data, node_sampler, **kwargs)
        self.feature_store, self.graph_store = data
        self.tier_dataset = node_sampler.dataset
        self.epoch = 0

    def __iter__(self):
        if isinstance(self.node_sampler, TierSampler):
            self.node_sampler.set_epoch(self.epoch)
        if isinstance(self.batch_sampler, TierEpochBatches):
            self.batch_sampler.set_epoch(self.epoch)
        self.epoch += 1
        return super().__iter__()


def loader(dataset: Any, fanouts: Sequence[int] = (15, 10, 5), batch_size: int = 1024,
           input_nodes: Union[None, str, Tensor, np.ndarray, Sequence[int]] = "train",
           shuffle: bool = False, seed: int = 0, feature_store: Optional[TierFeatureStore] = None,
           disk_readers: int = 4, drop_last: bool = False, **kwargs) -> TierNodeLoader:
    r"""A :class:`~torch_geometric.loader.NodeLoader` over a tiergnn dataset.

    Args:
        dataset: a :class:`tiergnn.Dataset` or its directory.
        fanouts: neighbours per hop from the seeds outwards (-1 = all).
        batch_size: seed nodes per mini-batch.
        input_nodes: the seeds: a split name ("train", "valid", "test"), node ids, a boolean mask,
            or None for all nodes.
        shuffle: shuffle the seeds every epoch with tiergnn's batcher, so that every batch holds
            the seeds (and gets the neighbour draws) that `tiergnn train --seed seed` uses.
        seed: seed of the shuffle and of the neighbour draws.
        feature_store: a TierFeatureStore to share (e.g. between a training and an evaluation
            loader, so one ledger counts both); by default a new one.
        disk_readers: reader threads of the disk tier of a new store.
        drop_last: drop the last, incomplete batch of every epoch.
        **kwargs: more NodeLoader / DataLoader arguments (num_workers, ...).

    Batches are :class:`~torch_geometric.data.Data` with ``x``, ``y``, ``edge_index``, ``n_id``
    (global ids; the first ``batch_size`` are the seeds), ``num_sampled_nodes`` and
    ``num_sampled_edges``. The loader's epoch counter (``.epoch``) advances on every pass.
    """
    ds = _open_dataset(dataset)
    if isinstance(input_nodes, str):
        ids = ds.split(input_nodes)
        if ids is None:
            raise ValueError(f"input_nodes {input_nodes!r}: the dataset {ds.name!r} has no such split")
        input_nodes = _long(ids)
    elif input_nodes is None:
        input_nodes = torch.arange(int(ds.num_nodes), dtype=torch.int64)
    elif not isinstance(input_nodes, Tensor):
        input_nodes = torch.as_tensor(np.asarray(input_nodes))
    if input_nodes.dtype == torch.bool:
        if input_nodes.numel() != int(ds.num_nodes):
            raise ValueError(f"input_nodes: a boolean mask must have one entry per node ({ds.num_nodes}), "
                             f"got {input_nodes.numel()}")
        input_nodes = input_nodes.nonzero().view(-1)
    input_nodes = torch.from_numpy(_id_array(input_nodes, "input_nodes"))  # 1.5 is not node 1
    if torch.unique(input_nodes).numel() != input_nodes.numel():
        raise ValueError("input_nodes holds a node id more than once; tiergnn samples distinct seeds in a "
                         "batch (as `tiergnn train` does): deduplicate them (torch.unique)")
    if feature_store is not None and (
            os.path.realpath(str(feature_store.dataset.path)) != os.path.realpath(str(ds.path))):
        # Rows are looked up by id: another dataset's store (a prepared copy is renumbered) would
        # hand out other nodes' features without a word.
        raise ValueError(f"feature_store holds the features of {feature_store.dataset.path!r}, but the loader "
                         f"samples {ds.path!r}: pass a TierFeatureStore of the same dataset")
    fs = feature_store if feature_store is not None else TierFeatureStore(ds, disk_readers=disk_readers)
    gs = TierGraphStore(ds)
    sampler = TierSampler(ds, fanouts, seed=seed)
    if shuffle:
        batches = TierEpochBatches(sampler, input_nodes, batch_size, drop_last=drop_last)
        return TierNodeLoader((fs, gs), sampler, input_nodes=input_nodes, batch_sampler=batches, **kwargs)
    return TierNodeLoader((fs, gs), sampler, input_nodes=input_nodes, batch_size=batch_size, shuffle=False,
                          drop_last=drop_last, **kwargs)
