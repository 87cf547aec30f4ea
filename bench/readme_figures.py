"""Redraw the README pictures that need no GPU, with the current plotting code.

    python bench/readme_figures.py --data ../shared/data/cifar10-jpeg.tar.gz --smoke runs/smoke

- ``augmented.png``: ``augment.augmented_samples(train, seed=1)`` of the offline copy;
- ``lr_schedule.png``: the schedule of the H200 run ``albumentations, seed 1`` (LRMIN 0.00231,
  LRMAX 0.272, 98 batches an epoch: bench/h200-2026-11-28), from ``schedule.one_cycle_lr``;
- ``confusion.png``: the confusion matrix in ``SMOKE/metrics.json`` (a CPU smoke run: an
  illustration of the figure, not a result).

``gradcam_pairs.png`` comes from the same smoke run's checkpoint:
``python -m s11lib gradcam --checkpoint runs/smoke --target both --device cpu --out images/gradcam_pairs.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from s11lib import plots
from s11lib.augment import augmented_samples
from s11lib.config import Config
from s11lib.datasets import load_cifar10
from s11lib.engine import start_run
from s11lib.schedule import one_cycle_lr, peak_step

H200_RUN = {"lr_min": 0.00231, "lr_max": 0.272, "steps_per_epoch": 98, "epochs": 24, "peak_epoch": 5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--smoke", required=True, type=Path, help="a train run folder (metrics.json)")
    parser.add_argument("--out", type=Path, default=Path("images"))
    args = parser.parse_args()
    start_run(Config(device="cpu"))
    train = load_cifar10(args.data).train
    plots.save(plots.augmented(*augmented_samples(train, seed=1)), args.out / "augmented.png", close=True)
    r = H200_RUN
    total, peak = r["epochs"] * r["steps_per_epoch"], peak_step(r["peak_epoch"], r["steps_per_epoch"])
    lrs = [one_cycle_lr(i, total_steps=total, peak_step=peak, lr_min=r["lr_min"], lr_max=r["lr_max"]) for i in range(total)]
    plots.save(plots.one_cycle(lrs, r["steps_per_epoch"], lr_min=r["lr_min"], lr_max=r["lr_max"]),
               args.out / "lr_schedule.png", close=True)
    confusion = np.array(json.loads((args.smoke / "metrics.json").read_text())["confusion_matrix"])
    plots.save(plots.confusion(confusion), args.out / "confusion.png", close=True)
    print(f"wrote augmented.png, lr_schedule.png, confusion.png to {args.out}")


if __name__ == "__main__":
    main()
