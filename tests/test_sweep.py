"""``python -m s11lib sweep`` (issue 24) on tiny data: the grid's rows and figures, each point the
same job as ``train``, an interrupted sweep going on where it stopped, a diverging point and an
untrusted range test recorded as rows, and bad input refused before any work."""

import csv
import json

import pytest

from conftest import SWEEP_GRID as GRID
from conftest import SWEEP_POINTS as POINTS
from conftest import TINY_SWEEP as TINY
from s11lib.cli import main
from s11lib.sweep import COLUMNS


def rows(out):
    return json.loads((out / "sweep.json").read_text())


def test_a_2x2_grid_writes_a_row_per_run_and_its_figures(swept, capsys):
    found = rows(swept)
    assert [r["point"] for r in found] == POINTS
    assert all(r["status"] == "done" and r["seed"] == 1 and not r["diverged"] and not r["found"] for r in found)
    assert [(r["schedule"], r["lr_min"], r["lr_max"]) for r in found] == [
        ("one-cycle", 0.0005, 0.05), ("one-cycle", 0.002, 0.2), ("step", 0.0005, 0.05), ("step", 0.002, 0.2)]
    with open(swept / "sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == COLUMNS and len(table) == 4
    for r, m in zip(found, (json.loads((swept / p / "seed-1" / "metrics.json").read_text()) for p in POINTS)):
        assert (r["test_accuracy"], r["test_accuracy_tta"], m["schedule"]) == (m["test_accuracy"],
                                                                               m["test_accuracy_tta"], r["schedule"])
    assert (swept / "sweep_lr.png").exists() and (swept / "sweep_curves.png").exists()
    assert not (swept / "sweep_budget.png").exists()  # one length: nothing to compare
    point = sorted(p.name for p in (swept / POINTS[0] / "seed-1").iterdir() if not p.name.startswith("."))
    assert point == ["accuracy.png", "checkpoint.pt", "config.json", "history.csv", "loss.png", "metrics.json",
                     "one_cycle.png"]  # light: no augmented samples, mistakes or GradCAM
    capsys.readouterr()
    assert main(["summary", str(swept)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("best point of each schedule") and all(p in out for p in POINTS)


def test_a_point_is_the_same_job_as_train_with_the_same_flags(swept, learnable, tmp_path):
    assert main(["train", "--data", str(learnable), "--out", str(tmp_path), "--schedule", "step", "--min-lr", "0.002",
                 "--max-lr", "0.2", *TINY]) == 0
    point = swept / "step-e2-lr0.2" / "seed-1"
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == point.joinpath("history.csv").read_text().splitlines()[0]
    for a, b in zip(*(csv.DictReader(open(d / "history.csv")) for d in (tmp_path, point))):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    train, sweep = (json.loads((d / "metrics.json").read_text()) for d in (tmp_path, point))
    assert (train["test_accuracy"], train["test_accuracy_tta"]) == (sweep["test_accuracy"], sweep["test_accuracy_tta"])


def test_an_interrupted_sweep_goes_on_where_it_stopped(swept, learnable, tmp_path, interrupt_in_epoch, capsys):
    args = ["sweep", "--data", str(learnable), "--out", str(tmp_path), *GRID]
    args[args.index("step")] = "one-cycle"  # two of the four points are enough
    interrupt_in_epoch(4)  # the second run's second epoch: its first is in its checkpoint
    assert main(args) == 130
    assert "the same command goes on where it stopped" in capsys.readouterr().err
    interrupt_in_epoch(None)
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "seed 1: kept the finished run" in said and "resuming after epoch 1 of 2" in said
    assert [r["test_accuracy"] for r in rows(tmp_path)] == [r["test_accuracy"] for r in rows(swept)][:2]


def test_a_diverging_point_and_an_untrusted_range_test_are_rows_and_the_sweep_goes_on(sources, tmp_path, capsys):
    """Random images: the range test reads a flat curve (its found point is recorded, not trained);
    LRMAX 1e6 makes the loss NaN in the first epoch (a row, kept: a rerun trains nothing)."""
    args = ["sweep", "--data", str(sources["folder"]), "--out", str(tmp_path), "--max-lr", "1e6", "0.05",
            "--schedule", "one-cycle", "--finder-iters", "8", "--epochs", "2", "--batch-size", "25", "--workers", "0",
            "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    by_point = {r["point"]: r for r in rows(tmp_path)}
    assert by_point["one-cycle-e2-found"]["status"] == "untrusted" and "flat" in by_point["one-cycle-e2-found"]["note"]
    blown = by_point["one-cycle-e2-lr1e+06"]
    assert blown["status"] == "diverged" and blown["diverged"] and blown["test_accuracy"] is None
    assert "NaN" in blown["note"] and by_point["one-cycle-e2-lr0.05"]["status"] == "done"
    capsys.readouterr()
    kept = (tmp_path / "one-cycle-e2-lr1e+06" / "seed-1" / "diverged.json").stat().st_mtime_ns
    assert main(args) == 0
    assert "epoch  1/2" not in capsys.readouterr().out  # every run was kept, the diverged one too
    assert (tmp_path / "one-cycle-e2-lr1e+06" / "seed-1" / "diverged.json").stat().st_mtime_ns == kept
    assert [r["status"] for r in rows(tmp_path)] == [by_point[p]["status"] for p in sorted(by_point)]


@pytest.mark.parametrize("flags, message", [
    (["--max-lr"], "expected at least one argument"),
    (["--max-lr", "0.1", "0"], "max-lr must be > 0"),
    (["--max-lr", "-0.1"], "max-lr must be > 0"),
    (["--schedule", "zigzag"], "invalid choice: 'zigzag'"),
    (["--epochs", "2", "4", "--peak-epoch", "3"], "peak-epoch (3) must come before the last epoch (2)"),
    (["--repeat", "0"], "repeat must be >= 1"),
])
def test_bad_sweeps_are_one_error_line_before_any_work(flags, message, tmp_path, capsys):
    try:
        code = main(["sweep", "--data", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "out"), *flags])
    except SystemExit as e:  # argparse's own errors end there, as for any command
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_sweep_refuses_a_folder_that_holds_a_run_and_train_refuses_a_sweep(swept, learnable, tmp_path, capsys):
    (tmp_path / "metrics.json").write_text("{}")
    assert main(["sweep", "--data", str(learnable), "--out", str(tmp_path), *GRID]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--data", str(learnable), "--out", str(swept), "--min-lr", "0.01", "--max-lr", "0.1",
                 *TINY]) == 2
    assert "already holds a run (sweep_config.json)" in capsys.readouterr().err
