"""Record LR range-test curves on real data, one JSON per seed, for the rule table in RESULTS.

    PYTHONPATH=. python bench/range_curves.py --data ../shared/data/cifar10-jpeg.tar.gz \
        --seeds 1 2 3 4 5 --out bench/results/range-curves-cpu

The recipe's settings (batch 512, 100 batches from 1e-4 to 10, the model's default
precision) unless flags say otherwise. The data is read once; each seed's curve is written
as ``seed-S.json`` the moment it exists (keys: lrs, losses (raw, per batch), seed,
batch_size, train_images, command, commit, machine, date, seconds), so a run cut short keeps
every finished curve. The curves are read by ``s11lib.lr_rules`` (bench/lr_rules_table.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine(device) -> str:
    import torch

    if device.type == "cuda":
        chip = torch.cuda.get_device_name(device)
    else:
        chip = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
            else platform.processor()
    return f"{chip}; {torch.get_num_threads()} threads; torch {torch.__version__}; Python {platform.python_version()}"


def commit() -> str:
    """HEAD's short hash (with "+dirty" when s11lib/ has uncommitted changes); COMMIT file where no git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "s11lib"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        path = ROOT / "COMMIT"
        return path.read_text().strip() if path.exists() else "unknown"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--subset", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--augment", default="albumentations")
    p.add_argument("--precision", default="auto")
    args = p.parse_args(argv)

    from s11lib.config import Config
    from s11lib.datasets import load_cifar10
    from s11lib.engine import build_model, start_run
    from s11lib.loaders import make_loaders
    from s11lib.lr_finder import find_lrs

    base = Config(data=args.data, subset=args.subset, batch_size=args.batch_size, finder_iters=args.iters,
                  device=args.device, augment=args.augment, precision=args.precision, progress=False)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python bench/range_curves.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    code = commit()  # now, as s11lib is imported: later edits to the tree do not change what runs
    data = load_cifar10(base.data, subset=base.subset)
    for seed in args.seeds:
        cfg = dataclasses.replace(base, seed=seed)
        device = start_run(cfg)
        train_loader, _ = make_loaders(data, cfg, device)
        t0 = time.perf_counter()
        rt = find_lrs(build_model(cfg, device), cfg, train_loader, device)
        record = {"lrs": rt.lrs.tolist(), "losses": rt.losses.tolist(), "seed": seed, "batch_size": cfg.batch_size,
                  "train_images": len(data.train), "augment": cfg.augment, "precision": cfg.precision,
                  "start_lr": cfg.finder_start_lr, "end_lr": cfg.finder_end_lr, "command": command,
                  "commit": code, "machine": machine(device),
                  "date": datetime.date.today().isoformat(), "seconds": round(time.perf_counter() - t0, 1)}
        (args.out / f"seed-{seed}.json").write_text(json.dumps(record, indent=1))
        print(f"seed {seed}: {len(rt.lrs)} batches in {record['seconds']}s; current rule LRMIN {rt.lr_min:.4g} "
              f"LRMAX {rt.lr_max:.4g} ({rt.note})", flush=True)


if __name__ == "__main__":
    main()
