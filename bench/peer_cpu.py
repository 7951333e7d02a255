#!/usr/bin/env python3
"""DGL's side of bench/peer_cpu.sh: GraphSAGE (3 x dgl.nn.SAGEConv 'mean', the parameter count of
tiergnn's model: W_self, W_neigh and a bias per layer; ReLU and dropout between layers; Adam) trained
on CPU on exactly tiergnn's mini-batches: tiergnn.Sampler draws the batches of `tiergnn train`
(same seeds, same sampled edges), each block is rebuilt as a DGL block, and the stages are timed as
tiergnn's epoch report splits them:
  sample    DGL's own NeighborSampler on the same seed nodes (its sampling cost; the replayed blocks
            are what the model trains on, so both systems do the same dense work; drawing the replayed
            batch is timed apart as replay_s and left out of the epoch)
  prepare   building DGL blocks from the replayed blocks (tiergnn: its aggregation graphs)
  gather    feature rows of the input nodes (index_select from host memory)
  compute   forward + loss + backward
  optimizer Adam step
Usage (in a venv with torch + dgl, with tiergnn importable): peer_cpu.py DATASET --json OUT
  [--fanouts 15,10,5] [--batch-size 1024] [--hidden 256] [--max-batches 40] [--threads 2] [--seed 0]
  [--epochs 1]  With E > 1 epochs (small graphs, whose epoch is a few batches), the times are the mean
  of epochs 2..E: the first epoch's warm-up (allocations, thread pools) is left out, as on the tiergnn side.
"""
import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("--json", required=True)
    ap.add_argument("--fanouts", default="15,10,5")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--max-batches", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    import dgl
    import dgl.nn as dglnn
    import tiergnn

    fan = [int(v) for v in a.fanouts.split(",")]
    ds = tiergnn.Dataset(a.dataset)
    indptr = torch.from_numpy(np.array(ds.indptr, dtype=np.int64))
    indices = torch.from_numpy(np.array(ds.indices, dtype=np.int64))
    feats = torch.from_numpy(np.array(ds.features))  # host memory, as DGL's users hold it
    labels = torch.from_numpy(np.array(ds.labels, dtype=np.int64))
    train = np.array(ds.split("train"))
    g = dgl.graph(("csc", (indptr, indices, torch.tensor([], dtype=torch.int64))), num_nodes=ds.num_nodes)
    dgl_sampler = dgl.dataloading.NeighborSampler(list(reversed(fan)))  # DGL lists the input layer first
    tg_sampler = tiergnn.Sampler(ds, fan, seed=a.seed)

    class Sage(torch.nn.Module):
        def __init__(self, din, hidden, classes, layers):
            super().__init__()
            dims = [din] + [hidden] * (layers - 1) + [classes]
            self.convs = torch.nn.ModuleList(dglnn.SAGEConv(dims[i], dims[i + 1], "mean") for i in range(layers))

        def forward(self, blocks, x):
            for i, (conv, blk) in enumerate(zip(self.convs, blocks)):
                x = conv(blk, x)
                if i < len(self.convs) - 1:
                    x = F.dropout(F.relu(x), p=a.dropout, training=self.training)
            return x

    classes = int(labels.max()) + 1
    model = Sage(feats.shape[1], a.hidden, classes, len(fan))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    model.train()
    # Epochs 2..E are timed when E > 1 (the first one warms up), else the only one.
    first_timed = 1 if a.epochs > 1 else 0
    n_timed = a.epochs - first_timed

    def plan(epoch):
        p = tg_sampler.epoch_batches(train, a.batch_size, epoch)
        return p[: a.max_batches] if a.max_batches > 0 else p

    def zero():
        return dict(sample_s=0.0, replay_s=0.0, prepare_s=0.0, gather_s=0.0, compute_s=0.0, optimizer_s=0.0), 0, 0

    batches = [(epoch, b, seeds) for epoch in range(a.epochs) for b, seeds in enumerate(plan(epoch))]
    t, edges, inputs = zero()
    for epoch, b, seeds in batches:
        if epoch == first_timed and b == 0:  # the warm-up epoch is not counted
            t, edges, inputs = zero()
        s0 = time.perf_counter()
        dgl_sampler.sample_blocks(g, torch.from_numpy(np.asarray(seeds, dtype=np.int64)))
        s1 = time.perf_counter()
        batch = tg_sampler.sample(seeds, epoch=epoch, batch=b)
        s1b = time.perf_counter()
        blocks = []
        for blk in batch.blocks:
            ip = np.asarray(blk.indptr)
            dst = torch.from_numpy(np.repeat(np.arange(blk.num_dst, dtype=np.int64), np.diff(ip)))
            src = torch.from_numpy(np.array(blk.indices, dtype=np.int64))
            blocks.append(dgl.create_block((src, dst), num_src_nodes=blk.num_src, num_dst_nodes=blk.num_dst))
        s2 = time.perf_counter()
        x = feats.index_select(0, torch.from_numpy(np.array(batch.input_nodes, dtype=np.int64)))
        y = labels.index_select(0, torch.from_numpy(np.array(batch.seeds, dtype=np.int64)))
        s3 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(blocks, x), y)
        loss.backward()
        s4 = time.perf_counter()
        opt.step()
        s5 = time.perf_counter()
        t["sample_s"] += s1 - s0
        t["replay_s"] += s1b - s1  # tiergnn drawing the batch to replay: not part of DGL's epoch
        t["prepare_s"] += s2 - s1b
        t["gather_s"] += s3 - s2
        t["compute_s"] += s4 - s3
        t["optimizer_s"] += s5 - s4
        edges += sum(blk.num_edges for blk in batch.blocks)
        inputs += len(batch.input_nodes)
    t = {k: v / n_timed for k, v in t.items()}  # per epoch
    res = dict(system="dgl", batches=len(batches) // a.epochs, sampled_edges=int(edges) // n_timed,
               input_nodes=int(inputs) // n_timed, epochs_timed=n_timed,
               loss=float(loss.item()), versions=f"dgl {dgl.__version__}, torch {torch.__version__}",
               threads=torch.get_num_threads(), **t)
    # The epoch as DGL runs it: its own sampling, block building, gather, compute, optimizer (the replay
    # that makes the batches tiergnn's is left out).
    res["seconds"] = t["sample_s"] + t["prepare_s"] + t["gather_s"] + t["compute_s"] + t["optimizer_s"]
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
