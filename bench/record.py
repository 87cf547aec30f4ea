"""The records of runs: the one recorder of bench/, for GPU runs and long CPU runs alike.

    python bench/record.py gpu RUNS RESULTS [--log LOG]   # RESULTS/summary.json, each run's files copied
    python bench/record.py table RESULTS/summary.json     # its Markdown table, for README and bench/RESULTS.md
    python bench/record.py runs RUNS                      # a table of every run under RUNS, and per group its spread
    python bench/record.py cpu RUN LOGS RESULTS           # a long CPU run: its files and each epoch net of pauses

``gpu``: RUNS holds one folder per group, each with ``seed-S/metrics.json`` (``python -m s11lib train
--repeat`` writes ``gpu/``, ``albumentations/``, ``gpu-fixed/``; ``bench/airbench_peer.py`` writes
``peer-airbench94/``). summary.json holds ``commit`` (from ``RUNS/COMMIT``, written where the runs were
prepared, as the GPU machine has no git history), ``s11lib_sha256`` (of the s11lib/*.py files that ran, to
check against main), ``gpu``, ``date`` and ``groups``: per group, lists over the seeds of ``test_accuracy``,
``test_accuracy_tta``, ``train_seconds`` and whatever else the runs recorded.

``cpu``: RUN is the notebook's (or ``train``'s) run folder; a finished one has metrics.json, an unfinished
one is read from its checkpoint (a dry run: RESULTS then gets only epochs.csv and the logs). LOGS holds what
the run's keeper wrote beside it: ``starts.txt`` (each start and end) and, where the run was paused or
watched, ``pauses.txt`` (``paused HH:MM:SS`` / ``resumed HH:MM:SS`` lines, SIGSTOP and SIGCONT of the run's
processes) and ``checkpoints.txt`` (``epoch E checkpoint written ISO-TIME``: the wall-clock end of epoch E).
An epoch's recorded seconds are measured inside the run with a monotonic clock, so they include the time it
was stopped: ``net_seconds`` subtracts the pauses that overlap the epoch, whose span is [end - recorded,
end]. An epoch without a logged end is taken to start where the one before it ended, or at its start's time
(the checkpoint's ``starts``: each resume's epoch and time) when it is the first of a start. Pause lines
carry only a time of day: each is dated at the first such time after the line above it (the first line:
after the run's first start), so a log may cross midnight.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import re
import shutil
import statistics
import sys
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
    (``augment``, "+compile" when compiled).
    """
    groups: dict[str, list[tuple[Path, dict]]] = {}
    for path in sorted(root.glob("**/metrics.json"), key=lambda p: (p.relative_to(root).parts[0], _seed(p), str(p))):
        parts = path.relative_to(root).parts
        if (root / parts[0] / "sweep_config.json").exists():  # a sweep's points: its own sweep.csv records them
            continue
        m = json.loads(path.read_text())
        nested = len(parts) > 2 or (len(parts) == 2 and not parts[0].startswith("seed-"))
        name = parts[0] if nested else m.get("augment", m.get("peer", "run")) + (" +compile" if m.get("compile") else "")
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
               "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"), "groups": groups}
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


# ---------------------------------------------------------------------------------------
# Every run under a folder


def runs_table(root: str) -> None:
    """Every run under ``root`` in a Markdown table, and per group the median, mean and spread."""
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
        with_tta = f" (with its TTA {statistics.median(tta):.2f}%)" if len(tta) == len(ms) else ""
        print(f"{group}: n={len(acc)} test accuracy median {statistics.median(acc):.2f}%{with_tta} mean "
              f"{statistics.mean(acc):.2f}% std {spread:.2f} min {min(acc):.2f} max {max(acc):.2f}; training seconds "
              f"median {statistics.median(secs):.1f}; device {ms[0].get('device', ms[0].get('device_name'))}; "
              f"data {ms[0].get('data', '-')}")


# ---------------------------------------------------------------------------------------
# A long CPU run

FILES = ("metrics.json", "history.csv", "lr_finder.json", "config.json")
LOGS = ("starts.txt", "pauses.txt", "checkpoints.txt")  # each copied where the keeper wrote it


def read_log(path: Path) -> str:
    """A keeper's log, empty where it wrote none (a run never paused, or not watched)."""
    return path.read_text() if path.exists() else ""


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def pauses(text: str, after: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The spans the run was stopped: from a ``paused`` line to the next ``resumed`` one (repeats merged)."""
    spans, since, last = [], None, after
    for kind, clock in re.findall(r"^(paused|resumed) (\d\d:\d\d:\d\d)", text, re.M):
        t = dt.datetime.combine(last.date(), dt.time.fromisoformat(clock), dt.timezone.utc)
        if t < last:  # past midnight
            t += dt.timedelta(days=1)
        last = t
        if kind == "paused" and since is None:
            since = t
        elif kind == "resumed" and since is not None:
            spans.append((since, t))
            since = None
    if since is not None:
        raise ValueError(f"paused at {since:%H:%M:%S} and never resumed: the run is still stopped")
    return spans


def overlap(a: tuple[dt.datetime, dt.datetime], b: tuple[dt.datetime, dt.datetime]) -> float:
    return max(0.0, (min(a[1], b[1]) - max(a[0], b[0])).total_seconds())


def epoch_rows(history: list[dict], starts: list[dict], ends: dict[int, dt.datetime],
               stopped: list[tuple[dt.datetime, dt.datetime]]) -> list[dict]:
    """One row per epoch: its span, recorded seconds, the seconds it was stopped, and the difference."""
    resumed_at = {s["epoch"]: parse_time(s["at"]) for s in starts}  # a start continuing after epoch E
    rows, previous_end = [], None
    for h in history:
        e, recorded = h["epoch"], h["seconds"]
        if e in ends:
            end, how = ends[e], "logged"
            begin = end - dt.timedelta(seconds=recorded)
            if e - 1 in resumed_at and abs((begin - resumed_at[e - 1]).total_seconds()) > 60:
                raise ValueError(f"epoch {e} would have begun at {begin:%H:%M:%S}, its start says {resumed_at[e - 1]:%H:%M:%S}: "
                                 "a pause missing from the log, or a wrong end")
        else:
            begin = resumed_at.get(e - 1, previous_end)
            if begin is None:
                raise ValueError(f"epoch {e}: no logged end and no start or earlier end to count from")
            end, how = begin + dt.timedelta(seconds=recorded), "from its start"
        stop = sum(overlap((begin, end), span) for span in stopped)
        rows.append({"epoch": e, "began": f"{begin:%FT%TZ}", "ended": f"{end:%FT%TZ}", "end_from": how,
                     "recorded_seconds": round(recorded, 1), "paused_seconds": round(stop, 1),
                     "net_seconds": round(recorded - stop, 1), "lr": h["lr"], "train_acc": h["train_acc"],
                     "test_acc": h["test_acc"]})
        previous_end = end
    return rows


def read_run(run: Path) -> tuple[dict, bool]:
    """metrics.json of a finished run with its history.csv (metrics.json holds no history), else the
    checkpoint's history and starts (torch only then)."""
    if (run / "metrics.json").exists():
        m = json.loads((run / "metrics.json").read_text())
        with open(run / "history.csv", newline="") as f:
            m["history"] = [{k: int(v) if k == "epoch" else float(v) for k, v in row.items()} for row in csv.DictReader(f)]
        return m, True
    import torch

    c = torch.load(run / "checkpoint.pt", weights_only=True, map_location="cpu")
    return {"history": c["history"], "starts": c["starts"]}, False


def record_cpu(run: Path, logs: Path, results: Path) -> None:
    m, finished = read_run(run)
    stopped = pauses(read_log(logs / "pauses.txt"), parse_time(m["starts"][0]["at"]))
    ends = {int(e): parse_time(t) for e, t in re.findall(r"^epoch (\d+) checkpoint written (\S+)",
                                                        read_log(logs / "checkpoints.txt"), re.M)}
    rows = epoch_rows(m["history"], m["starts"], ends, stopped)
    results.mkdir(parents=True, exist_ok=True)
    with open(results / "epochs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name in LOGS:
        if (logs / name).exists():
            shutil.copy(logs / name, results / name)
    if finished:
        for name in FILES:  # lr_finder.json only where a range test ran (a given pair has none)
            if (run / name).exists():
                shutil.copy(run / name, results / name)
    recorded, net = sum(r["recorded_seconds"] for r in rows), sum(r["net_seconds"] for r in rows)
    print(f"{len(rows)} epochs{'' if finished else ' so far (unfinished: dry run)'}: recorded {recorded:,.0f} s, "
          f"paused {recorded - net:,.0f} s, net {net:,.0f} s ({net / 3600:.2f} h)")
    for r in rows:
        print(f"  epoch {r['epoch']:>2}: net {r['net_seconds']:>7,.0f} s (recorded {r['recorded_seconds']:,.0f}, "
              f"paused {r['paused_seconds']:,.0f}; end {r['end_from']}), test {r['test_acc']:.2f}%")
    if finished:
        print(f"test accuracy {m['test_accuracy']:.2f}% ({m.get('test_accuracy_tta')} with TTA), LRs {m['min_lr']:.4g} / "
              f"{m['max_lr']:.4g} ({m.get('lr_rule')}), range test {m.get('lr_finder_seconds', 0):,.0f} s, "
              f"{m.get('device_name')}, {m.get('precision')}, commit {m.get('commit')}")
    print(f"wrote {results}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    p = sub.add_parser("gpu", help="summary.json of a folder of GPU runs, their files copied")
    p.add_argument("runs", type=Path)
    p.add_argument("results", type=Path)
    p.add_argument("--log", type=Path, help="bench/gpu_plan.sh's log, for each group's whole-command time")
    sub.add_parser("table", help="the Markdown table of a summary.json").add_argument("summary", type=Path)
    sub.add_parser("runs", help="a table of every run under a folder").add_argument("root", type=Path)
    p = sub.add_parser("cpu", help="a long CPU run's files, each epoch net of its pauses")
    for name in ("run", "logs", "results"):
        p.add_argument(name, type=Path)
    args = parser.parse_args()
    if args.kind == "table":
        print(table(json.loads(args.summary.read_text())))
    elif args.kind == "runs":
        runs_table(str(args.root))
    elif args.kind == "cpu":
        record_cpu(args.run, args.logs, args.results)
    else:
        summary = record(args.runs, args.results, args.log.read_text() if args.log else "")
        print(table(summary))
        print(f"\nwrote {args.results / 'summary.json'}")


if __name__ == "__main__":
    main()
