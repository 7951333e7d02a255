#!/usr/bin/env python3
"""The conventional PyTorch + PyG training pipeline, as the external reference of the epoch
benchmark (bench/epoch_bench.sh): GraphSAGE (PyG SAGEConv layers, mean aggregation, ReLU, dropout)
or, with --model gat, GAT (PyG GATConv: --heads concatenated heads of --hidden on hidden layers,
one head on the last, self-loops added, ELU, dropout),
node-wise neighbour sampling written in vectorised PyTorch (PyG's compiled samplers pyg-lib /
torch-sparse are not installed on the GPU machines), features in host memory gathered per batch
with index_select and copied to the GPU, Adam. Reads a tiergnn dataset directory's .npy files.

Sampling: per hop, nodes with at most `fanout` in-neighbours take all of them; the others draw
`fanout` neighbours uniformly with replacement and drop repeated edges (the usual vectorised form;
PyG's NeighborLoader samples without replacement, which yields slightly more edges per hop). The
mini-batch is the union of the hops' edges over one node list (seeds first), and every layer runs
over the whole subgraph, as PyG's GraphSAGE model does with NeighborLoader batches.

Usage: python bench/pyg_epoch.py DATASET [--fanouts 15,10,5] [--batch-size 1024] [--hidden 256]
         [--model sage|gat] [--heads 4] [--max-batches N] [--json OUT] [--device cuda|cpu]
With --max-batches the epoch time is extrapolated from the timed batches (reported as such).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.nn import GATConv, SAGEConv


class Sage(torch.nn.Module):
    def __init__(self, din, hidden, classes, layers, dropout):
        super().__init__()
        dims = [din] + [hidden] * (layers - 1) + [classes]
        self.convs = torch.nn.ModuleList(SAGEConv(dims[i], dims[i + 1], aggr="mean") for i in range(layers))
        self.dropout = dropout

    def forward(self, x, edge_index):
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = F.dropout(F.relu(x), p=self.dropout, training=self.training)
        return x


class Gat(torch.nn.Module):
    def __init__(self, din, hidden, heads, classes, layers, dropout):
        super().__init__()
        dims = [din] + [hidden * heads] * (layers - 1)
        self.convs = torch.nn.ModuleList(GATConv(dims[i], hidden, heads=heads) for i in range(layers - 1))
        self.convs.append(GATConv(dims[-1], classes, heads=1, concat=False))
        self.dropout = dropout

    def forward(self, x, edge_index):
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = F.dropout(F.elu(x), p=self.dropout, training=self.training)
        return x


def sample(indptr, indices, seeds, fanouts, node_map, gen):
    """Returns (n_id, edge_index) with seeds first; node_map is a reusable int64 tensor of -1s."""
    nodes = [seeds]
    node_map[seeds] = torch.arange(seeds.numel())
    count = seeds.numel()
    frontier = seeds
    rows, cols = [], []
    for k in fanouts:
        start = indptr[frontier]
        deg = indptr[frontier + 1] - start
        small = deg <= k
        # All neighbours of the small-degree nodes.
        s_nodes, s_start, s_deg = frontier[small], start[small], deg[small]
        rep = torch.repeat_interleave(torch.arange(s_nodes.numel()), s_deg)
        off = torch.arange(rep.numel()) - torch.repeat_interleave(torch.cumsum(s_deg, 0) - s_deg, s_deg)
        src_a = indices[s_start[rep] + off]
        dst_a = s_nodes[rep]
        # k draws with replacement for the others, repeated edges dropped.
        b_nodes, b_start, b_deg = frontier[~small], start[~small], deg[~small]
        r = (torch.rand(b_nodes.numel(), k, generator=gen) * b_deg.unsqueeze(1)).long()
        pos = (b_start.unsqueeze(1) + r).reshape(-1)
        src_b = indices[pos]
        dst_b = b_nodes.repeat_interleave(k)
        # Distinct (dst, src) pairs in (dst, src) order, as torch.unique(stack, dim=1) gives them, through
        # one int64 key per edge (a 1-D unique is a plain sort; the dim=1 form was ~most of the time).
        n_all = indptr.numel() - 1
        key = torch.unique(dst_b * n_all + src_b)
        src = torch.cat([src_a, key % n_all])
        dst = torch.cat([dst_a, key // n_all])
        new = torch.unique(src[node_map[src] < 0])
        node_map[new] = torch.arange(count, count + new.numel())
        count += new.numel()
        nodes.append(new)
        rows.append(node_map[src])
        cols.append(node_map[dst])
        frontier = new
    n_id = torch.cat(nodes)
    edge_index = torch.stack([torch.cat(rows), torch.cat(cols)])
    node_map[n_id] = -1
    return n_id, edge_index


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("--fanouts", default="15,10,5")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=256, help="hidden width (gat: per head)")
    ap.add_argument("--model", choices=["sage", "gat"], default="sage")
    ap.add_argument("--heads", type=int, default=4, help="gat: heads of the hidden layers")
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--max-batches", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    d = a.dataset
    t_load = time.perf_counter()
    indptr = torch.from_numpy(np.load(f"{d}/indptr.npy"))
    indices = torch.from_numpy(np.load(f"{d}/indices.npy").astype(np.int64))
    x_host = torch.from_numpy(np.ascontiguousarray(np.load(f"{d}/features.npy")))  # host memory
    y_host = torch.from_numpy(np.load(f"{d}/labels.npy").astype(np.int64))
    train = torch.from_numpy(np.load(f"{d}/train_idx.npy"))
    load_s = time.perf_counter() - t_load
    fan = [int(v) for v in a.fanouts.split(",")]
    dev = torch.device(a.device)
    classes = int(y_host.max()) + 1
    if a.model == "gat":
        model = Gat(x_host.shape[1], a.hidden, a.heads, classes, len(fan), a.dropout).to(dev)
    else:
        model = Sage(x_host.shape[1], a.hidden, classes, len(fan), a.dropout).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed)
    node_map = torch.full((indptr.numel() - 1,), -1, dtype=torch.int64)
    perm = train[torch.randperm(train.numel(), generator=gen)]
    batches = list(torch.split(perm, a.batch_size))
    timed = batches[: a.max_batches] if a.max_batches > 0 else batches
    model.train()
    t_sample = t_gather = t_compute = 0.0
    edges = inputs = 0
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for seeds in timed:
        s0 = time.perf_counter()
        n_id, edge_index = sample(indptr, indices, seeds, fan, node_map, gen)
        s1 = time.perf_counter()
        x = x_host.index_select(0, n_id).to(dev)
        y = y_host.index_select(0, seeds).to(dev)
        ei = edge_index.to(dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        s2 = time.perf_counter()
        opt.zero_grad()
        out = model(x, ei)[: seeds.numel()]
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        s3 = time.perf_counter()
        t_sample += s1 - s0
        t_gather += s2 - s1
        t_compute += s3 - s2
        edges += edge_index.shape[1]
        inputs += n_id.numel()
    wall = time.perf_counter() - t0
    scale = len(batches) / len(timed)
    conv = "GATConv" if a.model == "gat" else "SAGEConv"
    import torch_geometric
    res = {"pipeline": f"PyTorch + PyG (vectorised torch sampling, index_select + copy, {conv})", "model": a.model,
           "torch_geometric": torch_geometric.__version__, "threads": torch.get_num_threads(),
           "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", "torch": torch.__version__,
           "batches_per_epoch": len(batches), "timed_batches": len(timed), "extrapolated": scale != 1.0,
           "epoch_s": wall * scale, "timed_s": wall, "sample_s": t_sample * scale, "gather_copy_s": t_gather * scale,
           "compute_s": t_compute * scale, "sampled_edges_per_batch": edges / len(timed),
           "input_nodes_per_batch": inputs / len(timed), "last_loss": loss.item(), "load_s": load_s}
    print(json.dumps(res, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
