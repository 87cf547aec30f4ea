"""The peer, side by side: airbench94 (Keller Jordan's ``airbench`` 0.1.8) trained on the same
decoded JPEG copy of CIFAR-10 that our runs read, on the same GPU or on the CPU.

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
On a GPU one untimed warm-up run comes first. s11lib never imports airbench.

``--device cpu`` trains airbench's own ``train94`` on the CPU, its code unchanged: ``on_cpu`` patches
it at run time (fp16 -> fp32, CUDA -> CPU, CUDA events -> a wall clock; the list is in its
docstring and in each record). No warm-up there: a CPU has no autotuning to pay for, and a warm-up
with ``verbose=False`` is a whole training run. A seed whose metrics.json exists is not run again,
so a killed run continues at the seed it was on.

    python bench/airbench_peer.py --data .carry/cifar10-jpeg.tar.gz --seeds 3 --out runs/peer-airbench94
    python bench/airbench_peer.py --data ../shared/data/cifar10-jpeg.tar.gz --device cpu --seeds 3 --out /tmp/peer-cpu
    python bench/airbench_peer.py --data ../shared/data/cifar10-jpeg.tar.gz --export-only --out /tmp/peer
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path
from importlib.metadata import version
from unittest import mock

import torch

from s11lib import provenance
from s11lib.config import CLASSES
from s11lib.datasets import Cifar10, load_cifar10
from s11lib.outputs import write_atomic

PEER = "airbench94 (airbench 0.1.8)"
CPU_PATCHES = (
    "torch.Tensor.half -> float: make_net94's net.half() and CifarLoader's images.half() stay fp32",
    "torch.nn.Module.cuda -> the module itself: make_net94's net.cuda() keeps the net on the CPU",
    "CifarLoader's gpu=0 default -> 'cpu': train()'s own test loader loads onto the CPU",
    "torch.cuda.Event -> a time.perf_counter clock: airbench's own spans, timed on the CPU",
    "torch.cuda.synchronize -> nothing: the CPU runs in order",
)


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


class ClockEvent:
    """torch.cuda.Event's timing calls, on the CPU: ``record`` reads the clock, ``elapsed_time`` gives ms."""

    def __init__(self, enable_timing: bool = False):
        self.at = None

    def record(self, stream=None) -> None:
        self.at = time.perf_counter()

    def elapsed_time(self, end: "ClockEvent") -> float:
        return (end.at - self.at) * 1e3


@contextlib.contextmanager
def on_cpu():
    """airbench 0.1.8's ``train94``, ``CifarLoader`` and ``evaluate`` on the CPU in fp32, by the patches
    CPU_PATCHES names; airbench's code itself is unchanged."""
    from airbench import utils

    defaults = list(utils.CifarLoader.__init__.__defaults__)
    defaults[-1] = "cpu"  # gpu=0
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(torch.Tensor, "half", lambda self, *a, **k: self.float()))
        stack.enter_context(mock.patch.object(torch.nn.Module, "cuda", lambda self, *a, **k: self))
        stack.enter_context(mock.patch.object(utils.CifarLoader.__init__, "__defaults__", tuple(defaults)))
        stack.enter_context(mock.patch.object(torch.cuda, "Event", ClockEvent))
        stack.enter_context(mock.patch.object(torch.cuda, "synchronize", lambda *a, **k: None))
        yield


def run_seed(seed: int, device: str = "cuda", epochs: float | None = None) -> dict:
    """One airbench94 run from the working folder's cifar10/*.pt, on CUDA or (patched) on the CPU.
    ``epochs`` None is airbench94's own 9.9; fewer is for tests."""
    import airbench
    from airbench import lib_airbench94

    epochs = lib_airbench94.hyp["opt"]["train_epochs"] if epochs is None else epochs
    place = on_cpu() if device == "cpu" else contextlib.nullcontext()
    with place:
        torch.manual_seed(seed)
        loader = airbench.CifarLoader("cifar10", train=True, batch_size=lib_airbench94.hyp["opt"]["batch_size"],
                                      aug=lib_airbench94.hyp["aug"], altflip=True)
        # verbose=False: no per-epoch evaluation, and its spans cover training alone
        model, seconds = airbench_seconds(lambda: airbench.train94(loader, epochs=epochs, verbose=False),
                                          event_class=ClockEvent if device == "cpu" else None)
        test = airbench.CifarLoader("cifar10", train=False, batch_size=2000)
        accuracy = 100 * airbench.evaluate(model, test, tta_level=0)
        accuracy_tta = 100 * airbench.evaluate(model, test, tta_level=2)
    dtype = next(p.dtype for p in model.parameters() if p.dim() == 4)  # a conv's weights: what the net trained in
    return {"peer": PEER, "seed": seed, "test_accuracy": accuracy, "test_accuracy_tta": accuracy_tta,
            "tta": "airbench tta_level=2 (mirror and translate)", "epochs": epochs, "train_seconds": seconds,
            "device_name": provenance.device_name(torch.device(device)), "precision": str(dtype).removeprefix("torch."),
            "threads": torch.get_num_threads(), "torch_version": str(torch.__version__),
            "airbench_version": version("airbench"), "commit": provenance.commit(),
            "patches": list(CPU_PATCHES) if device == "cpu" else [],
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="data source, as for python -m s11lib train --data")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="cpu: airbench's train94 patched onto the CPU in fp32 (on_cpu)")
    parser.add_argument("--epochs", type=float, default=None, help="airbench94's own 9.9 unless given (for tests)")
    parser.add_argument("--subset", type=int, default=None, help="a class-balanced sample of the data (for tests)")
    parser.add_argument("--export-only", action="store_true", help="write cifar10/*.pt and stop (no GPU needed)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if not (args.out / "cifar10" / "test.pt").is_file() or args.export_only:
        data = load_cifar10(args.data, subset=args.subset)
        folder = export(data, args.out)
        print(f"wrote {folder}/train.pt ({len(data.train)}) and test.pt ({len(data.test)}) from {data.source} "
              f"in {time.perf_counter() - t0:.1f}s")
    if args.export_only:
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA here: pass --device cpu, or --export-only")
    os.chdir(args.out)  # airbench reads cifar10/ from the working folder
    import airbench

    if args.device == "cuda":
        airbench.warmup94(verbose=False)  # one untimed run first (with verbose=False a whole one): cuDNN autotuning
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        record = Path(f"seed-{seed}") / "metrics.json"
        if record.is_file():
            print(f"airbench94 seed {seed}: done before ({args.out / record})")
            continue
        m = run_seed(seed, args.device, args.epochs)
        record.parent.mkdir(exist_ok=True)
        write_atomic(record, json.dumps(m, indent=2))
        print(f"airbench94 seed {seed}: test accuracy {m['test_accuracy']:.2f}% (with its TTA "
              f"{m['test_accuracy_tta']:.2f}%), training {m['train_seconds']:.2f}s, {m['device_name']}, {m['precision']}",
              flush=True)


if __name__ == "__main__":
    main()
