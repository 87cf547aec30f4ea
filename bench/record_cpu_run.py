"""The record of a long CPU run that was paused and resumed: its files, and each epoch's seconds net of the pauses.

    python bench/record_cpu_run.py TRY LOGS RESULTS   # e.g. WORK/runs/try-1 WORK bench/results/2026-12-02-cpu-fp32

TRY is the notebook's (or ``train``'s) run folder; a finished one has metrics.json, an unfinished one is
read from its checkpoint (a dry run: RESULTS then gets only epochs.csv and the logs). LOGS holds what the
run's keeper wrote beside it: ``starts.txt`` (each start and end), ``pauses.txt`` (``paused HH:MM:SS`` /
``resumed HH:MM:SS`` lines, SIGSTOP and SIGCONT of the run's processes) and ``checkpoints.txt`` (``epoch E
checkpoint written ISO-TIME``: the wall-clock end of epoch E), and the keeper's scripts (``go.sh``,
``pause.sh``, ``watch.sh``), copied with them. An epoch's recorded seconds are measured
inside the kernel with a monotonic clock, so they include the time it was stopped: ``net_seconds``
subtracts the pauses that overlap the epoch, whose span is [end - recorded, end]. An epoch without a
logged end is taken to start where the one before it ended, or at its start's time (the checkpoint's
``starts``: each resume's epoch and time) when it is the first of a start. Pause lines carry only a
time of day: each is dated at the first such time after the line above it (the first line: after the run's
first start), so a log may cross midnight.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import sys
from pathlib import Path

FILES = ("metrics.json", "history.csv", "lr_finder.json", "config.json")
LOGS = ("starts.txt", "pauses.txt", "checkpoints.txt")
KEEPER = ("go.sh", "pause.sh", "watch.sh")  # what started, paused and watched the run: copied where present


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


def main(run: Path, logs: Path, results: Path) -> None:
    m, finished = read_run(run)
    stopped = pauses((logs / "pauses.txt").read_text(), parse_time(m["starts"][0]["at"]))
    ends = {int(e): parse_time(t) for e, t in re.findall(r"^epoch (\d+) checkpoint written (\S+)",
                                                        (logs / "checkpoints.txt").read_text(), re.M)}
    rows = epoch_rows(m["history"], m["starts"], ends, stopped)
    results.mkdir(parents=True, exist_ok=True)
    with open(results / "epochs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name in LOGS:
        shutil.copy(logs / name, results / name)
    for name in KEEPER:
        if (logs / name).exists():
            shutil.copy(logs / name, results / name)
    if finished:
        for name in FILES:
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


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    main(*map(Path, sys.argv[1:]))
