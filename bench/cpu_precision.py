"""Benchmark: ResNet-9 training throughput on this CPU, fp32 and bf16 autocast, NCHW and channels_last.

One training step is forward, loss, backward and an SGD step (``engine.make_optimizer``), on
random batches; each layout/precision pair is timed in turn, best of N, so drift hits all alike.
It prints the processor, whether it has native bf16 (what ``--precision auto`` reads), and img/s.

    PYTHONPATH=. python bench/cpu_precision.py [--batch 128] [--batches 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from torch import nn

from s11lib.config import Config
from s11lib.engine import cpu_bf16, make_optimizer
from s11lib.model import ResNet9


def processor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def steps(model, batches, optimizer, criterion, dtype) -> None:
    model.train()
    for x, y in batches:
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.manual_seed(0)
    data = [(torch.randn(args.batch, 3, 32, 32), torch.randint(0, 10, (args.batch,))) for _ in range(args.batches)]
    cases = {}
    for layout in ("nchw", "channels_last"):
        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        batches = [(x.contiguous(memory_format=fmt), y) for x, y in data]
        for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
            model = ResNet9().to(memory_format=fmt)
            optimizer = make_optimizer(model, Config(), lr=0.01)
            steps(model, batches[:1], optimizer, nn.CrossEntropyLoss(), dtype)  # warm-up: oneDNN picks its kernels
            cases[(name, layout)] = (model, batches, optimizer, dtype, [])
    for _ in range(args.repeats):
        for model, batches, optimizer, dtype, times in cases.values():
            start = time.perf_counter()
            steps(model, batches, optimizer, nn.CrossEntropyLoss(), dtype)
            times.append(time.perf_counter() - start)
    native = cpu_bf16()
    print(f"processor: {processor()}; native bf16: {native or 'no (AVX512-BF16 and AMX-BF16 absent)'}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")
    n = args.batch * args.batches
    for (name, layout), (*_, times) in cases.items():
        print(f"{name:>4} {layout:<13} {n / min(times):7.1f} img/s  (best of {args.repeats}, {n} images, "
              f"batch {args.batch}, forward+backward+step)")


if __name__ == "__main__":
    main()
