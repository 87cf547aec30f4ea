"""Print a Markdown table of the runs under a folder (one metrics.json each), and per data path
the median, mean and spread of the final test accuracy.

    python bench/summarize.py runs/gpu
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def main(root: str) -> None:
    runs = sorted(Path(root).glob("*/metrics.json"))
    if not runs:
        sys.exit(f"no */metrics.json under {root}")
    cols = ("augment", "seed", "test_accuracy", "best_test_accuracy", "train_accuracy", "min_lr", "max_lr",
            "data_seconds", "lr_finder_seconds", "train_seconds", "eval_seconds")
    print("| run | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    by_path = defaultdict(list)
    for path in runs:
        m = json.loads(path.read_text())
        by_path[m["augment"] + (" +compile" if m.get("compile") else "")].append(m)
        cells = [f"{m[c]:.4g}" if isinstance(m[c], float) else str(m[c]) for c in cols]
        print(f"| {path.parent.name} | " + " | ".join(cells) + " |")
    print()
    for augment, ms in by_path.items():
        acc = [m["test_accuracy"] for m in ms]
        secs = [m["train_seconds"] for m in ms]
        spread = statistics.stdev(acc) if len(acc) > 1 else 0.0
        print(f"{augment}: n={len(acc)} test accuracy median {statistics.median(acc):.2f}% mean {statistics.mean(acc):.2f}% "
              f"std {spread:.2f} min {min(acc):.2f} max {max(acc):.2f}; training seconds median {statistics.median(secs):.1f}; "
              f"device {ms[0]['device']}; data {ms[0]['data']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs")
