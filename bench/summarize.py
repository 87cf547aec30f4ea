"""Print a Markdown table of the runs under a folder (one metrics.json each), and per group
the median, mean and spread of the final test accuracy.

    python bench/summarize.py runs/gpu

Runs are grouped as ``bench/record.py`` groups them (``record.group_runs``): by the first
folder below the root, or, for runs directly under it, by the data path (``augment``).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from record import group_runs  # one way of grouping runs, shared with the record


def main(root: str) -> None:
    groups = group_runs(Path(root))
    if not groups:
        sys.exit(f"no metrics.json under {root}")
    cols = ("augment", "seed", "test_accuracy", "best_test_accuracy", "test_accuracy_tta", "train_accuracy", "min_lr",
            "max_lr", "data_seconds", "lr_finder_seconds", "train_seconds", "eval_seconds")
    print("| run | " + " | ".join(cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for found in groups.values():
        for path, m in found:
            cells = [f"{m[c]:.4g}" if isinstance(m.get(c), float) else str(m.get(c, "")) for c in cols]  # older: no tta
            print(f"| {'/'.join(path.relative_to(root).parts[:-1])} | " + " | ".join(cells) + " |")
    print()
    for group, found in groups.items():
        ms = [m for _, m in found]
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
