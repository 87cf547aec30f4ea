"""Turn a folder of GPU runs into the machine-readable record, and print its table.

    python bench/record.py RUNS RESULTS [--log LOG]    # writes RESULTS/summary.json, copies each run's files
    python bench/record.py --table RESULTS/summary.json  # the Markdown table for README and bench/RESULTS.md

RUNS holds one folder per group, each with ``seed-S/metrics.json`` (``python -m s11lib train
--repeat`` writes ``gpu/``, ``albumentations/``, ``gpu-fixed/``; ``bench/airbench_peer.py``
writes ``peer-airbench94/``). summary.json holds ``commit`` (from ``RUNS/COMMIT``, written
where the runs were prepared, as the GPU machine has no git history), ``s11lib_sha256`` (of
the s11lib/*.py files that ran, to check against main), ``gpu``, ``date`` and ``groups``:
per group, lists over the seeds of ``test_accuracy``, ``test_accuracy_tta``,
``train_seconds`` and whatever else the runs recorded.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import shutil
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("seed", "test_accuracy", "test_accuracy_tta", "train_seconds", "min_lr", "max_lr", "lr_rule", "lr_finder_seconds",
        "data_seconds", "eval_seconds", "augment", "precision")


def s11lib_sha256(root: Path = ROOT) -> str:
    """sha256 over s11lib/*.py (names and contents, sorted): the same for the same code on any machine."""
    digest = hashlib.sha256()
    for path in sorted((root / "s11lib").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def group_seconds(log: str) -> dict[str, float]:
    """Whole-command seconds per group from bench/gpu_plan.sh's '== NAME: exit E, whole command S s' lines."""
    return {m[1]: float(m[3]) for m in re.finditer(r"^== ([\w-]+): exit (\d+), whole command (\d+) s$", log, re.M)}


def _seed(path: Path) -> int:
    name = path.parent.name
    return int(name.removeprefix("seed-")) if name.startswith("seed-") and name[5:].isdigit() else 0


def group_runs(root: Path) -> dict[str, list[tuple[Path, dict]]]:
    """Every run under ``root`` (one metrics.json each) by group, each group's runs in seed order.

    A run's group is the first folder below ``root`` (``gpu/seed-1``, as ``train --repeat``
    writes); a run directly under ``root`` (or in ``root/seed-S``) is grouped by its data path
    (``augment``, "+compile" when compiled). Used by this script and by ``summarize.py``.
    """
    groups: dict[str, list[tuple[Path, dict]]] = {}
    for path in sorted(root.glob("**/metrics.json"), key=lambda p: (p.relative_to(root).parts[0], _seed(p), str(p))):
        parts = path.relative_to(root).parts
        if (root / parts[0] / "sweep_config.json").exists():  # a sweep's points: its own sweep.csv records them
            continue
        m = json.loads(path.read_text())
        nested = len(parts) > 2 or (len(parts) == 2 and not parts[0].startswith("seed-"))
        name = parts[0] if nested else m["augment"] + (" +compile" if m.get("compile") else "")
        groups.setdefault(name, []).append((path, m))
    return dict(sorted(groups.items()))


def record(runs: Path, results: Path, log: str = "") -> dict:
    """Write ``results/summary.json`` and copy every run's metrics.json and history.csv beside it."""
    groups, gpu = {}, None
    whole = group_seconds(log)
    for name, found in group_runs(runs).items():
        metrics = [m for _, m in found]
        gpu = gpu or metrics[0].get("device")
        groups[name] = {k: [m.get(k) for m in metrics] for k in KEYS if any(k in m for m in metrics)}
        if name in whole:
            groups[name]["group_wall_seconds"] = whole[name]
        for path, _ in found:
            target = results / name / path.parent.name
            target.mkdir(parents=True, exist_ok=True)
            for name in ("metrics.json", "history.csv"):
                if (path.parent / name).exists():
                    shutil.copy(path.parent / name, target / name)
    commit = (runs / "COMMIT").read_text().strip() if (runs / "COMMIT").exists() else None
    summary = {"commit": commit, "s11lib_sha256": s11lib_sha256(), "gpu": gpu,
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"), "groups": groups}
    results.mkdir(parents=True, exist_ok=True)
    (results / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def table(summary: dict) -> str:
    """One Markdown row per group: medians over its seeds, and every value."""
    lines = [f"commit `{summary['commit']}`, {summary['gpu']}, {summary['date']}", "",
             "| group | n | test accuracy % (median; each seed) | with TTA % (median) | training s (median; each) |",
             "|---|---|---|---|---|"]
    for name, g in summary["groups"].items():
        acc, secs = g["test_accuracy"], g["train_seconds"]
        tta = [t for t in g.get("test_accuracy_tta", []) if t is not None]
        lines.append(f"| {name} | {len(acc)} | **{statistics.median(acc):.2f}**; {' / '.join(f'{a:.2f}' for a in acc)} | "
                     f"{f'{statistics.median(tta):.2f}' if tta else '-'} | {statistics.median(secs):.1f}; "
                     f"{' / '.join(f'{s:.1f}' for s in secs)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="?")
    parser.add_argument("results", type=Path, nargs="?")
    parser.add_argument("--log", type=Path, help="bench/gpu_plan.sh's log, for each group's whole-command time")
    parser.add_argument("--table", type=Path, metavar="SUMMARY", help="print the table of a summary.json")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    if args.runs is None or args.results is None:
        parser.error("give RUNS and RESULTS, or --table SUMMARY")
    summary = record(args.runs, args.results, args.log.read_text() if args.log else "")
    print(table(summary))
    print(f"\nwrote {args.results / 'summary.json'}")


if __name__ == "__main__":
    main()
