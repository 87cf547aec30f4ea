"""Print a Markdown table of the runs under a folder (one metrics.json each), and per group
the median, mean and spread of the final test accuracy.

    python bench/summarize.py runs/gpu

A group is the folder above the run's own (``gpu/seed-1``, as ``bench/gpu_full.sh`` writes
with ``--repeat``), or, for runs directly under the root, the data path (``augment``).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def main(root: str) -> None:
    runs = sorted(Path(root).glob("**/metrics.json"))
    if not runs:
        sys.exit(f"no metrics.json under {root}")
    cols = ("augment", "seed", "test_accuracy", "best_test_accuracy", "test_accuracy_tta", "train_accuracy", "min_lr",
            "max_lr", "data_seconds", "lr_finder_seconds", "train_seconds", "eval_seconds")
    print("| run | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    by_group = defaultdict(list)
    for path in runs:
        m = json.loads(path.read_text())
        parts = path.relative_to(root).parts
        group = parts[0] if len(parts) > 2 else m["augment"] + (" +compile" if m.get("compile") else "")
        by_group[group].append(m)
        cells = [f"{m[c]:.4g}" if isinstance(m.get(c), float) else str(m.get(c, "")) for c in cols]  # older: no tta
        print(f"| {'/'.join(parts[:-1])} | " + " | ".join(cells) + " |")
    print()
    for group, ms in by_group.items():
        acc = [m["test_accuracy"] for m in ms]
        secs = [m["train_seconds"] for m in ms]
        spread = statistics.stdev(acc) if len(acc) > 1 else 0.0
        tta = [m["test_accuracy_tta"] for m in ms if "test_accuracy_tta" in m]
        with_tta = f" (with flip TTA {statistics.median(tta):.2f}%)" if len(tta) == len(ms) else ""
        print(f"{group}: n={len(acc)} test accuracy median {statistics.median(acc):.2f}%{with_tta} mean "
              f"{statistics.mean(acc):.2f}% std {spread:.2f} min {min(acc):.2f} max {max(acc):.2f}; training seconds "
              f"median {statistics.median(secs):.1f}; device {ms[0]['device']}; data {ms[0]['data']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs")
