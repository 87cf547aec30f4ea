"""What a sweep's run costs beyond its training, run here and through a local Ray, and how the
driver's memory grows with the number of runs. Prints a table and one JSON
line per sweep; each sweep runs in a process of its own.

    PYTHONPATH=. python bench/sweep_overhead.py --data ../shared/data/cifar10-jpeg.tar.gz --runs 2 6

A run is 2 epochs on 500 images (batch 50) on the CPU; its "beyond training" is the sweep's wall
time per run less the training loop's own seconds (train_seconds): data loaders, evaluation,
flip TTA, checkpoints, figures, rows, and through Ray the task's start and the files shipped back.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LRS = ("0.02", "0.05", "0.1", "0.2", "0.4", "0.8", "1.6", "3.2")


def one(mode: str, runs: int, data: str, out: Path) -> dict:
    """One sweep of ``runs`` runs in this process; its wall time, training seconds and peak RSS."""
    from s11lib.cli import main

    args = ["sweep", "--data", data, "--subset", "500", "--batch-size", "50", "--epochs", "2", "--schedule", "one-cycle",
            "--max-lr", *LRS[:runs], "--no-found", "--workers", "0", "--device", "cpu", "--no-progress", "--out", str(out)]
    if mode == "ray":
        args += ["--ray", "--ray-cpus", "2"]  # one run at a time on the 2 cores, as the local sweep
    t0 = time.perf_counter()
    assert main(args) == 0
    wall = time.perf_counter() - t0
    rows = json.loads((out / "sweep.json").read_text())
    return {"mode": mode, "runs": runs, "wall_s": wall, "train_s": sum(r["train_seconds"] for r in rows),
            "driver_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--runs", type=int, nargs="+", default=[2, 6])
    p.add_argument("--one", nargs=2, metavar=("MODE", "RUNS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            print("RESULT " + json.dumps(one(args.one[0], int(args.one[1]), args.data, Path(tmp) / "sweep")))
        return
    results = []
    for mode in ("local", "ray"):
        for runs in args.runs:
            done = subprocess.run([sys.executable, __file__, "--data", args.data, "--one", mode, str(runs)],
                                  capture_output=True, text=True)
            line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{mode} x {runs} failed:\n{done.stderr[-2000:]}")
            results.append(json.loads(line.removeprefix("RESULT ")))
            print(line, flush=True)
    print("\n| mode | runs | wall s | training s | beyond training, s a run | driver peak RSS MB |\n|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['mode']} | {r['runs']} | {r['wall_s']:.1f} | {r['train_s']:.1f} | "
              f"{(r['wall_s'] - r['train_s']) / r['runs']:.1f} | {r['driver_max_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
