"""Every LR rule on every recorded range-test curve: the table in bench/RESULTS.md.

    PYTHONPATH=. python bench/lr_rules_table.py bench/results/range-curves-cpu [MORE_FOLDERS...]

Reads each folder's seed-*.json (``bench/range_curves.py``), reads LRMIN and LRMAX off each
curve with each rule of ``s11lib.lr_rules`` and prints, per rule, both LRs per seed, the
spread of LRMAX over the seeds (max/min) and the spread of the median of 3 seeds over every
choice of 3 seeds. A rule that cannot read a curve shows its fallback pair marked "(untrusted)".
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from s11lib.lr_rules import RULES, median_pair, read_curve


def curves(folders: list[Path]) -> list[dict]:
    found = [json.loads(p.read_text()) for folder in folders for p in sorted(folder.glob("seed-*.json"))]
    return sorted(found, key=lambda c: c["seed"])


def table(recorded: list[dict]) -> str:
    seeds = [c["seed"] for c in recorded]
    head = ("| rule | " + " | ".join(f"seed {s}: LRMIN / LRMAX" for s in seeds)
            + " | LRMAX spread (max/min) | median-of-3 spread |")
    lines = [head, "|" + "---|" * (len(seeds) + 3)]
    for rule in RULES:
        tests = [read_curve(c["lrs"], c["losses"], rule) for c in recorded]
        cells = [f"{t.lr_min:.3g} / {t.lr_max:.3g}" + ("" if t.trusted else " (untrusted)") for t in tests]
        maxes = [t.lr_max for t in tests]
        triples = [median_pair(list(trio)).lr_max for trio in itertools.combinations(tests, 3)]
        spread3 = f"{max(triples) / min(triples):.2f}" if triples else "-"
        lines.append(f"| {rule} | " + " | ".join(cells) + f" | {max(maxes) / min(maxes):.2f} | {spread3} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folders", type=Path, nargs="+")
    args = p.parse_args()
    recorded = curves(args.folders)
    first = recorded[0]
    print(f"{len(recorded)} curves: batch {first['batch_size']}, {first['train_images']} training images, "
          f"{len(first['lrs'])} batches from {first['lrs'][0]:.3g} to {first['lrs'][-1]:.3g}; "
          f"{first['machine']}; commit {first['commit']}; {first['date']}\n")
    print(table(recorded))
    print("\nwhere each curve diverged (back at its starting loss):", ", ".join(
        f"seed {c['seed']}: LR {2 * read_curve(c['lrs'], c['losses']).lr_max:.3g}" for c in recorded))
    print("where each curve turned up (first clear rise of the smoothed loss):",
          ", ".join(f"seed {c['seed']}: LR {read_curve(c['lrs'], c['losses'], 'turning').lr_max:.3g}"
                    for c in recorded))
    print("lowest smoothed loss:", ", ".join(
        f"seed {c['seed']}: {np.nanmin(read_curve(c['lrs'], c['losses']).smoothed):.3f}" for c in recorded))
    print("LRMAX / LRMIN of the default rule:", ", ".join(
        f"seed {c['seed']}: {read_curve(c['lrs'], c['losses']).lr_max / read_curve(c['lrs'], c['losses']).lr_min:.0f}"
        for c in recorded))


if __name__ == "__main__":
    main()
