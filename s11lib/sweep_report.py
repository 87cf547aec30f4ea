"""What a sweep writes and shows: its rows as sweep.csv and sweep.json, its figures, its table, and
whether it measured anything. Only finished runs are a point's result; a diverged run is a row
drawn apart.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from .outputs import csv_text, write_atomic

COLUMNS = ("point", "schedule", "epochs", "lr_min", "lr_max", "found", "seed", "status", "test_accuracy",
           "test_accuracy_tta", "diverged", "train_seconds", "commit", "host", "note")
MEASURED = ("done", "diverged")  # a row that measured something: a finished run, or one that blew up


class NothingMeasured(Exception):
    """Every run of a sweep failed (or none could start): no row measures anything."""


def check_measured(rows: list[dict]) -> None:
    """Refuse a sweep whose every run failed: it measured nothing, whatever its exit would say."""
    if rows and not any(r["status"] in MEASURED for r in rows):
        first = next((r for r in rows if r["status"] == "failed"), rows[0])
        raise NothingMeasured(f"no run of this sweep finished or diverged ({len(rows)} rows, none measured); "
                              f"the first {first['status']} one, {first['point']} seed {first['seed']}: {first['note']}")


def write(out: Path, rows: list[dict]) -> list[dict]:
    """sweep.csv, sweep.json and the figures (once a row measured something), from ``rows``;
    returns the rows in the files' order."""
    from . import plots

    rows = sorted(rows, key=lambda r: (r["schedule"], r["epochs"], not r["found"], r["lr_max"] or 0, r["seed"]))
    write_atomic(out / "sweep.json", json.dumps([{k: r.get(k) for k in COLUMNS} for r in rows], indent=1))
    write_atomic(out / "sweep.csv", csv_text(rows, list(COLUMNS)))
    if any(r["status"] in MEASURED for r in rows):
        for name, ax in draw(out, rows).items():
            plots.save(ax, out / name, close=True)
    return rows


def draw(out: Path, rows: list[dict]) -> dict:
    """A sweep's figures, drawn ({file name: Axes}), one colour per (schedule, length) in all of them:
    accuracy against LRMAX; the test accuracy per epoch of each schedule and length at its best
    LRMAX and of the found pair (medians over seeds, from each run's history.csv); and, for several
    lengths, the final accuracy at the best LRMAX against the length."""
    from . import plots

    colors = plots.sweep_colors({(r["schedule"], r["epochs"]) for r in rows})
    pair = next((r for r in rows if r["found"]), None)
    found_lr = pair["lr_max"] if pair is not None and pair["status"] != "untrusted" else None
    untrusted = f"range test cannot be trusted ({pair['note']}): no found point trained" \
        if pair is not None and pair["status"] == "untrusted" else None
    drawn = {"sweep_lr.png": plots.sweep_lr(rows, colors, found_lr_max=found_lr, note=untrusted)}
    best = best_points(rows)
    found = [p for p in point_medians(rows) if p["found"]]
    drawn_points = {p["point"]: p for p in (*best, *found)}  # the found pair may be its schedule's best point too
    curves = [curve for p in drawn_points.values() if (curve := _median_curve(out, rows, p, colors)) is not None]
    if curves:
        drawn["sweep_curves.png"] = plots.sweep_curves(curves)
    if len({r["epochs"] for r in rows}) > 1:
        budget = {}
        for p in best:
            budget.setdefault(p["schedule"], []).append((p["epochs"], p["median"]))
        found_line = sorted((p["epochs"], p["median"]) for p in found)
        drawn["sweep_budget.png"] = plots.sweep_budget(budget, colors, found=found_line)
    return drawn


def point_medians(rows: list[dict]) -> list[dict]:
    """Each point with a finished run: a row of its first finished seed with "median" (test accuracy
    over its finished seeds) and "seeds" (how many) added. Diverged runs are no point's result."""
    by_point = {}
    for r in rows:
        if r["status"] == "done":
            by_point.setdefault(r["point"], []).append(r)
    return [{**runs[0], "median": statistics.median(r["test_accuracy"] for r in runs), "seeds": len(runs)}
            for runs in by_point.values()]


def best_points(rows: list[dict]) -> list[dict]:
    """The best point (median test accuracy over its finished seeds) of each (schedule, epochs), best first."""
    best = {}
    for m in sorted(point_medians(rows), key=lambda m: -m["median"]):
        best.setdefault((m["schedule"], m["epochs"]), m)
    return list(best.values())


def _median_curve(out: Path, rows: list[dict], point: dict, colors: dict) -> dict | None:
    """The test accuracy per epoch of ``point``, the median over its finished seeds, ready to draw."""
    histories = [h for r in rows if r["point"] == point["point"] and r["status"] == "done"
                 if (h := _history(out, r))]
    if not histories:
        return None
    epochs = [r["epoch"] for r in histories[0]]
    median = [statistics.median(h[i]["test_acc"] for h in histories) for i in range(len(epochs))]
    seeds = f"median of {len(histories)} seeds" if len(histories) > 1 else "1 seed"
    what = "one cycle at the found pair" if point["found"] else point["schedule"]
    return {"label": f"{what}, {point['epochs']} epochs, LRMAX {point['lr_max']:.3g} ({seeds})", "epochs": epochs,
            "accuracy": median, "color": colors[(point["schedule"], point["epochs"])], "found": point["found"]}


def _history(out: Path, row: dict) -> list[dict]:
    path = out / row["point"] / f"seed-{row['seed']}" / "history.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def table(rows: list[dict]) -> str:
    """The sweep as text: the best point of each schedule first, then every run."""
    best = best_points(rows)
    lines = ["best point of each schedule (median test accuracy over its finished seeds):"]
    lines += [f"  {r['schedule']:<10} {r['epochs']:>3} epochs  LRMAX {r['lr_max']:<7.4g} {r['median']:6.2f}%"
              + (f"  ({r['seeds']} seeds)" if r["seeds"] > 1 else "")
              + ("  (found by the range test)" if r["found"] else "") for r in best]
    if not best:
        lines.append("  none: no run has finished")
    lines.append(f"{'point':<28} {'seed':>4}  {'LRMIN':>8} {'LRMAX':>8}  {'test acc':>9}  {'TTA':>6}  status")
    for r in rows:
        acc = f"{r['test_accuracy']:.2f}" if r["test_accuracy"] is not None else "-"
        tta = f"{r['test_accuracy_tta']:.2f}" if r["test_accuracy_tta"] is not None else "-"
        status = r["status"] + (" (last good epoch's accuracy)" if r["status"] == "diverged" and acc != "-" else "")
        lines.append(f"{r['point']:<28} {r['seed']:>4}  {r['lr_min'] or 0:>8.4g} {r['lr_max'] or 0:>8.4g}  {acc:>9}  "
                     f"{tta:>6}  {status}")
    return "\n".join(lines)
