"""torch.profiler summary of one training epoch of the batched (``--augment gpu``) path: the
top kernels, and the share of the epoch's wall time in which the GPU ran no kernel.

Only device events count as GPU time (kernels, copies and memsets: ``device_type`` CUDA):
a CPU operator's "device time" is the time of the kernels it launched, so adding operators
and kernels would count every kernel twice. Kernels that overlap (several streams) count
once: the busy time is the length of the union of their intervals.

    python bench/profile_epoch.py --data .carry/cifar10-jpeg.tar.gz                 # on the GPU
    python bench/profile_epoch.py --data ../shared/data/cifar10-jpeg.tar.gz --subset 500 --batch-size 50 --device cpu

One untimed epoch first (cuDNN autotuning, first calls), then one profiled epoch at Page's
fixed LRs (the schedule does not change the work), in the run's own precision.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from s11lib.config import Config
from s11lib.datasets import load_cifar10
from s11lib.engine import autocast_dtype, build_model, make_optimizer, start_run, train_one_epoch
from s11lib.loaders import make_loaders
from s11lib.schedule import one_cycle


def device_intervals(events) -> list[tuple[float, float]]:
    """(start, end) in microseconds of every event that ran on the GPU; CPU operators left out."""
    return [(e.time_range.start, e.time_range.end) for e in events if e.device_type == DeviceType.CUDA]


def busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """Seconds in which at least one of ``intervals`` (microseconds) was running: their union's length."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rows", type=int, default=15)
    args = parser.parse_args()
    cfg = Config(data=args.data, subset=args.subset, batch_size=args.batch_size, device=args.device, augment="gpu",
                 min_lr=0.004, max_lr=0.4, progress=False)
    device = start_run(cfg)
    data = load_cifar10(cfg.data, subset=cfg.subset)
    train_loader, _ = make_loaders(data, cfg, device)
    model = build_model(cfg, device)
    optimizer = make_optimizer(model, cfg, cfg.min_lr)
    scheduler = one_cycle(optimizer, epochs=2, steps_per_epoch=len(train_loader), peak_epoch=1, lr_min=cfg.min_lr,
                          lr_max=cfg.max_lr)
    dtype, cuda = autocast_dtype(cfg.precision, device), device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None

    def epoch() -> float:
        start = time.perf_counter()
        train_one_epoch(model, train_loader, optimizer, nn.CrossEntropyLoss(), device, scheduler=scheduler,
                        dtype=dtype, scaler=scaler)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    warm = epoch()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        wall = epoch()
    events = prof.key_averages()
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    print(f"one epoch of {len(data.train)} images, batch {cfg.batch_size}, {device}"
          f"{' ' + torch.cuda.get_device_name(device) if cuda else ''}, precision {dtype or 'fp32'}: "
          f"{warm:.3f}s unprofiled (first), {wall:.3f}s profiled")
    print(events.table(sort_by=sort, row_limit=args.rows))
    if cuda:
        kernels = device_intervals(prof.events())
        busy = busy_seconds(kernels)
        print(f"GPU busy {busy:.3f}s of {wall:.3f}s wall ({len(kernels)} device events; device events only, "
              f"overlaps counted once): {100 * (1 - busy / wall):.1f}% of the epoch with no kernel running "
              "(launch overhead, syncs, host work)")


if __name__ == "__main__":
    main()
