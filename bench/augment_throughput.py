"""Benchmark (a): augmentation throughput, albumentations DataLoader path vs the batched path.

Both produce normalized float batches of 512 from the same uint8 images, with no model.

    python bench/augment_throughput.py [--data ../shared/data/cifar10-jpeg.tar.gz] [--images 10000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from s11lib.config import Config
from s11lib.datasets import load_cifar10
from s11lib.engine import start_run
from s11lib.loaders import make_loaders


def images_per_second(loader, passes: int = 3) -> float:
    """Best of ``passes`` full epochs, each timed from the start of its iteration: a training
    loader's workers start anew every epoch (so that a checkpoint can replay it), and their
    start-up is part of what an epoch costs."""
    next(iter(loader))
    best = 0.0
    for _ in range(passes):
        start, n = time.perf_counter(), 0
        for x, _ in loader:
            n += len(x)
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    args = p.parse_args()
    data = load_cifar10(args.data, subset=args.images)
    cpu = torch.device("cpu")
    rates = {}
    for augment in ("albumentations", "gpu"):
        cfg = Config(augment=augment, workers=args.workers, batch_size=512, device="cpu")
        start_run(cfg)
        rates[augment] = images_per_second(make_loaders(data, cfg, cpu)[0])
        print(f"{augment:>15}: {rates[augment]:>10,.0f} images/s  (best of 3 epochs of {args.images} images, batch 512, "
              f"workers {args.workers}, CPU, {torch.get_num_threads()} torch threads)")
    print(f"batched / albumentations: {rates['gpu'] / rates['albumentations']:.1f}x")


if __name__ == "__main__":
    main()
