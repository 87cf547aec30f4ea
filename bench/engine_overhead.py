"""Benchmark (b): training-step throughput of engine.train_one_epoch vs a bare loop.

Same model, same batches, same optimizer; the bare loop is forward, loss, backward, step.

    python bench/engine_overhead.py [--batch 64] [--batches 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from s11lib.config import Config
from s11lib.engine import make_optimizer, train_one_epoch
from s11lib.model import ResNet9


def bare(model, batches, optimizer, criterion) -> None:
    model.train()
    for x, y in batches:
        loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.manual_seed(0)
    batches = [(torch.randn(args.batch, 3, 32, 32), torch.randint(0, 10, (args.batch,))) for _ in range(args.batches)]
    model, criterion, cpu = ResNet9(), nn.CrossEntropyLoss(), torch.device("cpu")
    optimizer = make_optimizer(model, Config(), lr=0.01)
    bare(model, batches[:1], optimizer, criterion)  # warm-up
    times = {"bare": [], "engine": []}
    for _ in range(args.repeats):  # interleaved, best of N, so drift hits both alike
        for name in times:
            start = time.perf_counter()
            if name == "bare":
                bare(model, batches, optimizer, criterion)
            else:
                train_one_epoch(model, batches, optimizer, criterion, cpu)
            times[name].append(time.perf_counter() - start)
    n = args.batch * args.batches
    rate = {k: n / min(v) for k, v in times.items()}
    for k, r in rate.items():
        print(f"{k:>7}: {r:7.1f} images/s (best of {args.repeats}, {n} images, batch {args.batch}, CPU, {torch.get_num_threads()} threads)")
    print(f"engine overhead over the bare loop: {100 * (rate['bare'] / rate['engine'] - 1):+.1f}%")


if __name__ == "__main__":
    main()
