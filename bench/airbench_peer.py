"""The peer, side by side: airbench94 (Keller Jordan's ``airbench`` 0.1.8) trained on the same
decoded JPEG copy of CIFAR-10 that our runs read, on the same GPU.

airbench reads ``cifar10/train.pt`` and ``cifar10/test.pt`` (uint8 N x 32 x 32 x 3 images,
int64 labels, class names) from the working folder, and downloads CIFAR-10 when they are
missing; this script writes them from our reader first, so both nets see the same pixels.
Each seed writes ``OUT/seed-S/metrics.json`` with the test accuracy without test-time
augmentation (``tta_level=0``), with airbench's own (``tta_level=2``: mirror and
translate), and the training time as airbench itself measures it: the CUDA-event spans
that ``airbench.utils.train`` records around its whitening initialisation and each epoch's
training loop (with ``verbose=False`` nothing else), read off by ``airbench_seconds``.
Model building, its loaders' ``torch.load`` and evaluation are outside, as they are
outside our ``train_seconds`` (synchronised clocks around each epoch's training loop).
One untimed warm-up run comes first. s11lib never imports airbench.

    python bench/airbench_peer.py --data .carry/cifar10-jpeg.tar.gz --seeds 3 --out runs/peer-airbench94
    python bench/airbench_peer.py --data ../shared/data/cifar10-jpeg.tar.gz --export-only --out /tmp/peer   # the CPU part
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from unittest import mock

import torch

from s11lib.config import CLASSES
from s11lib.datasets import Cifar10, load_cifar10


def export(data: Cifar10, folder: Path) -> Path:
    """Write ``data`` as airbench's ``cifar10/train.pt`` and ``cifar10/test.pt`` under ``folder``."""
    target = folder / "cifar10"
    target.mkdir(parents=True, exist_ok=True)
    for name, split in (("train", data.train), ("test", data.test)):
        torch.save({"images": torch.from_numpy(split.images), "labels": torch.from_numpy(split.labels),
                    "classes": list(CLASSES)}, target / f"{name}.pt")
    return target


def airbench_seconds(train, event_class=None):
    """Call ``train()`` and return (its result, the seconds of every CUDA-event span it timed).

    airbench keeps its own timing in a local variable; each span it measures ends in one
    ``elapsed_time`` call, which this records by lending it an Event class that remembers.
    """
    base = event_class or torch.cuda.Event
    spans = []

    class Remembered(base):
        def elapsed_time(self, end):
            ms = super().elapsed_time(end)
            spans.append(ms)
            return ms

    with mock.patch.object(torch.cuda, "Event", Remembered):
        result = train()
    return result, sum(spans) / 1e3


def run_seed(seed: int) -> dict:
    """One airbench94 run from the working folder's cifar10/*.pt (CUDA only, as airbench is)."""
    import airbench
    from airbench import lib_airbench94

    torch.manual_seed(seed)
    loader = airbench.CifarLoader("cifar10", train=True, batch_size=lib_airbench94.hyp["opt"]["batch_size"],
                                  aug=lib_airbench94.hyp["aug"], altflip=True)
    # verbose=False: no per-epoch evaluation, and its spans cover training alone
    model, seconds = airbench_seconds(lambda: airbench.train94(loader, verbose=False))
    test = airbench.CifarLoader("cifar10", train=False, batch_size=2000)
    return {"seed": seed, "test_accuracy": 100 * airbench.evaluate(model, test, tta_level=0),
            "test_accuracy_tta": 100 * airbench.evaluate(model, test, tta_level=2), "train_seconds": seconds,
            "epochs": lib_airbench94.hyp["opt"]["train_epochs"], "tta": "airbench tta_level=2 (mirror and translate)",
            "device": torch.cuda.get_device_name(), "peer": "airbench94 (airbench 0.1.8)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="data source, as for python -m s11lib train --data")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--export-only", action="store_true", help="write cifar10/*.pt and stop (no GPU needed)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = load_cifar10(args.data)
    folder = export(data, args.out)
    print(f"wrote {folder}/train.pt ({len(data.train)}) and test.pt ({len(data.test)}) from {data.source} "
          f"in {time.perf_counter() - t0:.1f}s")
    if args.export_only:
        return
    if not torch.cuda.is_available():
        raise SystemExit("airbench94 runs on CUDA only; use --export-only here")
    os.chdir(args.out)  # airbench reads cifar10/ from the working folder
    import airbench

    airbench.warmup94(verbose=False)  # one untimed run first (with verbose=False a whole one): cuDNN autotuning, first calls
    runs = []
    for seed in range(1, args.seeds + 1):
        m = run_seed(seed)
        (Path(f"seed-{seed}")).mkdir(exist_ok=True)
        Path(f"seed-{seed}/metrics.json").write_text(json.dumps(m, indent=2))
        runs.append(m)
        print(f"airbench94 seed {seed}: test accuracy {m['test_accuracy']:.2f}% (with its TTA "
              f"{m['test_accuracy_tta']:.2f}%), training {m['train_seconds']:.2f}s")


if __name__ == "__main__":
    main()
