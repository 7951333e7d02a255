#!/usr/bin/env python3
"""Train PyG's GraphSAGE on a tiergnn dataset through tiergnn.pyg (NodeLoader over tiergnn's stores
and sampler), with the hyper-parameters and evaluation of `tiergnn train`.

Defaults are those of `tiergnn train --model sage`: fanouts 15,10,5 (one layer each), hidden 128,
dropout 0.5 on hidden activations (none on the inputs), batch 1024, 10 epochs, Adam lr 0.003, no
weight decay; each epoch's batches are tiergnn's shuffle of the training split (the same seeds and
neighbour draws as `tiergnn train --seed S`); validation after every epoch and the test metric of
the final model, both by layer-wise full-neighbour inference (or sampled with --eval sampled);
the metric is accuracy, or ROC-AUC when there are 2 classes. The model is PyG's, so initial weights
and dropout masks differ from tiergnn's. The feature traffic is the tiered store's ledger of the
training gathers (a prepared dataset is served from its planned tiers).

    python python/examples/train_pyg_sage.py out/cora --fanouts 25,10 --hidden 64 \\
        --input-dropout 0.5 --lr 0.01 --weight-decay 5e-4 --epochs 100 --batch-size 64
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.nn import GraphSAGE
from torch_geometric.sampler import NodeSamplerInput

import tiergnn
from tiergnn import pyg as tpyg

_COUNTS = ("batches", "gpu_rows", "host_rows", "disk_rows", "rows", "host_to_gpu_bytes", "disk_to_host_bytes",
           "baseline_bytes")


def roc_auc(score: np.ndarray, labels: np.ndarray) -> float:
    """ROC-AUC by the Mann-Whitney U statistic with average ranks for ties (as tiergnn's metrics)."""
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(score, kind="stable")
    s = score[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def score(logits: torch.Tensor, y: torch.Tensor, num_classes: int) -> float:
    if num_classes == 2:
        return roc_auc((logits[:, 1] - logits[:, 0]).numpy(), y.numpy())
    return float((logits.argmax(1) == y).double().mean())


def add_traffic(total: Optional[dict], t: dict) -> dict:
    """Sums the ledger's counters of several epochs and recomputes its rates."""
    out = dict(t) if total is None else dict(total)
    if total is not None:
        for k in _COUNTS:
            out[k] = total[k] + t[k]
    rows, base = out["rows"], out["baseline_bytes"]
    out["gpu_hit_rate"] = out["gpu_rows"] / rows if rows else 0.0
    out["reduction"] = 1.0 - out["host_to_gpu_bytes"] / base if base else 0.0
    out.pop("summary", None)
    return out


@torch.no_grad()
def full_inference(model: GraphSAGE, fs: tpyg.TierFeatureStore, num_nodes: int, batch_size: int) -> torch.Tensor:
    """Layer-wise full-neighbour inference: every node's layer-l output from all its in-neighbours,
    layer by layer, destinations in chunks (as tiergnn's evaluation)."""
    sampler = tpyg.TierSampler(fs.dataset, [-1])
    prev: Optional[torch.Tensor] = None
    for layer, conv in enumerate(model.convs):
        outs = []
        for s0 in range(0, num_nodes, batch_size):
            seeds = torch.arange(s0, min(num_nodes, s0 + batch_size))
            out = sampler.sample_from_nodes(NodeSamplerInput(None, seeds))
            x = fs.get_tensor(None, "x", out.node) if layer == 0 else prev[out.node]
            h = conv((x, x[:seeds.numel()]), torch.stack([out.row, out.col]))
            if layer < len(model.convs) - 1:
                h = model.act(h)
            outs.append(h)
        prev = torch.cat(outs)
    return prev


@torch.no_grad()
def sampled_inference(model: GraphSAGE, fs: tpyg.TierFeatureStore, ids: torch.Tensor, fanouts: Sequence[int],
                      seed: int, batch_size: int) -> torch.Tensor:
    """Logits of `ids` from neighbourhoods sampled with the training fanouts."""
    loader = tpyg.loader(fs.dataset, fanouts, batch_size, input_nodes=ids, seed=seed ^ 0x6576616C,
                         feature_store=fs)
    outs = []
    for b in loader:
        outs.append(model(b.x, b.edge_index, num_sampled_nodes_per_hop=b.num_sampled_nodes,
                          num_sampled_edges_per_hop=b.num_sampled_edges)[:b.batch_size])
    return torch.cat(outs)


def train(dataset, *, fanouts: Sequence[int] = (15, 10, 5), hidden: int = 128, dropout: float = 0.5,
          input_dropout: float = 0.0, batch_size: int = 1024, epochs: int = 10, lr: float = 0.003,
          weight_decay: float = 0.0, weight_decay_scope: str = "all", seed: int = 0, eval_mode: str = "full",
          eval_batch_size: int = 4096, eval_every: int = 1, disk_readers: int = 4,
          log: Optional[Callable[[str], None]] = print) -> Dict:
    """Trains GraphSAGE on `dataset` (a tiergnn.Dataset or directory) and returns a dict: metric,
    valid, test (final model), epochs (per-epoch loss, train accuracy, valid metric, seconds,
    traffic) and traffic (the training gathers of all epochs)."""
    log = log or (lambda s: None)
    ds = dataset if isinstance(dataset, tiergnn.Dataset) else tiergnn.Dataset(dataset)
    if ds.features is None or ds.labels is None or ds.split("train") is None:
        raise ValueError(f"{ds.path}: training needs features, labels and a train split")
    if weight_decay_scope not in ("all", "first"):
        raise ValueError(f"weight_decay_scope {weight_decay_scope!r}: choose all or first")
    if eval_mode not in ("full", "sampled"):
        raise ValueError(f"eval_mode {eval_mode!r}: choose full or sampled")
    num_classes = int(ds.num_classes)
    metric = "roc_auc" if num_classes == 2 else "accuracy"
    torch.manual_seed(seed)

    fs = tpyg.TierFeatureStore(ds, disk_readers=disk_readers)
    train_loader = tpyg.loader(ds, fanouts, batch_size, input_nodes="train", shuffle=True, seed=seed, feature_store=fs)
    model = GraphSAGE(int(ds.feature_dim), hidden, num_layers=len(fanouts), out_channels=num_classes,
                      dropout=dropout)
    first = list(model.convs[0].parameters())
    rest = [p for c in model.convs[1:] for p in c.parameters()]
    decay_rest = weight_decay if weight_decay_scope == "all" else 0.0
    groups = [{"params": first, "weight_decay": weight_decay}]
    if rest:
        groups.append({"params": rest, "weight_decay": decay_rest})
    opt = torch.optim.Adam(groups, lr=lr)
    labels = fs.labels()
    splits = {s: ds.split(s) for s in ("valid", "test")}
    splits = {s: torch.from_numpy(np.array(v, dtype=np.int64)) for s, v in splits.items() if v is not None and len(v)}

    def evaluate(which: str) -> float:
        ids = splits[which]
        model.eval()
        if eval_mode == "full":
            logits = full_inference(model, fs, int(ds.num_nodes), eval_batch_size)[ids]
        else:
            logits = sampled_inference(model, fs, ids, fanouts, seed, eval_batch_size)
        return score(logits, labels[ids], num_classes)

    log(f"{ds.name}: {ds.num_nodes} nodes, {ds.num_edges} edges, {ds.feature_dim} features, {num_classes} classes; "
        f"PyG GraphSAGE {len(fanouts)} layers, hidden {hidden}, fanouts {list(fanouts)}, batch {batch_size}, "
        f"{epochs} epochs, lr {lr}, weight decay {weight_decay} ({weight_decay_scope}), seed {seed}")
    report = {"metric": metric, "epochs": [], "valid": None, "test": None, "traffic": None}
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        fs.store.reset_traffic()
        loss_sum, correct, seen = 0.0, 0, 0
        for batch in train_loader:
            bs = batch.batch_size
            x = F.dropout(batch.x, input_dropout, training=True) if input_dropout > 0 else batch.x
            out = model(x, batch.edge_index, num_sampled_nodes_per_hop=batch.num_sampled_nodes,
                        num_sampled_edges_per_hop=batch.num_sampled_edges)[:bs]
            y = batch.y[:bs]
            loss = F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * bs
            correct += int((out.argmax(1) == y).sum())
            seen += bs
        traffic = add_traffic(None, fs.store.traffic)
        report["traffic"] = add_traffic(report["traffic"], traffic)
        er = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), "train_accuracy": correct / max(seen, 1),
              "seconds": time.perf_counter() - t0, "traffic": traffic}
        if "valid" in splits and ((epoch + 1) % max(1, eval_every) == 0 or epoch + 1 == epochs):
            er["valid"] = report["valid"] = evaluate("valid")
        report["epochs"].append(er)
        log(f"epoch {epoch + 1}/{epochs}  loss {er['loss']:.4f}  train acc {er['train_accuracy']:.4f}"
            + (f"  valid {metric} {er['valid']:.4f}" if "valid" in er else "") + f"  {er['seconds']:.2f} s"
            + f"  ({traffic['rows']} feature rows, gpu hit {100 * traffic['gpu_hit_rate']:.1f}%)")
    if "test" in splits:
        report["test"] = evaluate("test")
    t = report["traffic"] or add_traffic(None, fs.store.traffic)
    log(f"test {metric} {report['test']:.4f}" if report["test"] is not None else "test: no test split")
    log(f"feature traffic (training, {t['batches']} batches): {t['rows']} rows = gpu {t['gpu_rows']} + host "
        f"{t['host_rows']} + disk {t['disk_rows']}; host->gpu {t['host_to_gpu_bytes'] / 2**20:.2f} MiB, "
        f"disk->host {t['disk_to_host_bytes'] / 2**20:.2f} MiB; gpu hit rate {100 * t['gpu_hit_rate']:.1f}%, "
        f"{100 * t['reduction']:.1f}% less than no cache")
    return report


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="tiergnn dataset directory (imported, generated or prepared)")
    p.add_argument("--fanouts", default="15,10,5", help="neighbours per hop from the seeds outwards; -1 = all")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.5, help="dropout on hidden activations")
    p.add_argument("--input-dropout", type=float, default=0.0, help="dropout on input features")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.003)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--weight-decay-scope", choices=("all", "first"), default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval", dest="eval_mode", choices=("full", "sampled"), default="full")
    p.add_argument("--eval-every", type=int, default=1)
    p.add_argument("--eval-batch-size", type=int, default=4096)
    p.add_argument("--disk-readers", type=int, default=4)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", help="write the report (metrics, per-epoch numbers, traffic) to this file")
    a = p.parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    fanouts = [int(f) for f in a.fanouts.split(",") if f.strip()]
    r = train(a.dataset, fanouts=fanouts, hidden=a.hidden, dropout=a.dropout, input_dropout=a.input_dropout,
              batch_size=a.batch_size, epochs=a.epochs, lr=a.lr, weight_decay=a.weight_decay,
              weight_decay_scope=a.weight_decay_scope, seed=a.seed, eval_mode=a.eval_mode,
              eval_batch_size=a.eval_batch_size, eval_every=a.eval_every, disk_readers=a.disk_readers)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
