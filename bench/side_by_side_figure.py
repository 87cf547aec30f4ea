"""The full-size comparison on the same pixels, drawn from its records: every 24-epoch run of ours on the
full offline copy (grouped by schedule and pair) and the peer's seeds, from the metrics.json files under
bench/results/, into images/side_by_side.png (the README's and the notebook's last section's figure), with
what it drew beside it in images/side_by_side.json (tests check it against the records and README).

    python bench/side_by_side_figure.py [--results bench/results] [--out images/side_by_side.png]

Prints each group it drew: its runs' folders and final test accuracies.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOUND, PAGE, STEP, PEER = ("one cycle at the found pair", "Page's schedule: 0 -> 0.4 -> 0",
                           "step schedule at LR 0.1", "airbench94, the peer (9.9 epochs)")
ORDER = (FOUND, PAGE, STEP, PEER)
COLORS = dict(zip(ORDER, ("tab:blue", "tab:green", "tab:red", "tab:orange")))  # a group keeps its colour as others come
FULL = 50_000  # training images of a full-size run


def group_of(metrics: dict, config: dict | None) -> str | None:
    """Which group a record belongs to; None for one that is not a full-size 24-epoch run or the peer."""
    if str(metrics.get("peer", "")).startswith("airbench94"):
        return PEER
    if config is None or config.get("subset") is not None or metrics.get("train_images") != FULL \
            or metrics.get("epochs") != 24:
        return None
    if config["schedule"] == "step":
        return STEP if metrics["max_lr"] == 0.1 else f"step schedule at LR {metrics['max_lr']:g}"
    if metrics["lr_rule"] is not None:
        return FOUND
    if (metrics["min_lr"], metrics["max_lr"]) == (0.0, 0.4):
        return PAGE
    return f"one cycle at {metrics['min_lr']:g} / {metrics['max_lr']:g}"


def collect(results: Path) -> list[dict]:
    """The groups, in ORDER (others after): {"label", "folders", "finals", "curves"}."""
    groups: dict[str, dict] = {}
    for path in sorted(results.rglob("metrics.json")):
        metrics = json.loads(path.read_text())
        config_path = path.with_name("config.json")
        config = json.loads(config_path.read_text()) if config_path.exists() else None
        label = group_of(metrics, config)
        if label is None:
            continue
        g = groups.setdefault(label, {"label": label, "folders": [], "finals": [], "curves": [],
                                      "color": COLORS.get(label, "tab:purple")})
        g["folders"].append(str(path.parent.relative_to(results)))
        g["finals"].append(round(metrics["test_accuracy"], 2))
        history = path.with_name("history.csv")
        if history.exists():
            with history.open() as f:
                g["curves"].append([float(r["test_acc"]) for r in csv.DictReader(f)])
    return sorted(groups.values(), key=lambda g: (ORDER.index(g["label"]) if g["label"] in ORDER else len(ORDER),
                                                  g["label"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "images" / "side_by_side.png")
    args = parser.parse_args(argv)
    groups = collect(args.results)
    if not groups:
        print(f"no full-size record under {args.results}", file=sys.stderr)
        return 1
    from s11lib import plots

    for g in groups:
        print(f"{g['label']}: median {statistics.median(g['finals']):.2f} of {len(g['finals'])} "
              f"({', '.join(f'{a:.2f} in {f}' for a, f in zip(g['finals'], g['folders']))})")
    plots.save(plots.side_by_side(groups), args.out, close=True)
    drawn = [{k: g[k] for k in ("label", "folders", "finals")} for g in groups]
    args.out.with_suffix(".json").write_text(json.dumps(drawn, indent=1) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
