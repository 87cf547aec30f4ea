"""``python -m s11lib sweep`` on tiny data: the grid's rows and figures, each point the
same job as ``train``, an interrupted sweep going on where it stopped, a diverging point and an
untrusted range test recorded as rows, and bad input refused before any work."""

import csv
import json
import re

import pytest
import torch

from conftest import SWEEP_GRID as GRID
from conftest import SWEEP_POINTS as POINTS
from conftest import TINY_SWEEP as TINY
from s11lib.cli import main
from s11lib.sweep_report import COLUMNS


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
    assert point == ["accuracy.png", "checkpoint.pt", "config.json", "history.csv", "loss.png", "lr_schedule.png",
                     "metrics.json", "point.json"]  # curves only: no augmented samples, mistakes or GradCAM
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
    err = capsys.readouterr().err
    assert "the same command goes on where it stopped" in err and "--resume" not in err  # one instruction, a sweep's
    interrupt_in_epoch(None)
    assert main(args) == 0
    said = capsys.readouterr().out
    assert re.search(r"\[1/2\] one-cycle-e2-lr0.05 seed 1: [\d.]+% on \S+, kept from an earlier run; 1 left", said)
    assert "resuming after epoch 1 of 2" in said
    assert [r["test_accuracy"] for r in rows(tmp_path)] == [r["test_accuracy"] for r in rows(swept)][:2]


def test_a_diverging_point_and_an_untrusted_range_test_are_rows_and_the_sweep_goes_on(sources, tmp_path, capsys):
    """Random images: the range test reads a curve that never falls (its found point is recorded, not trained);
    LRMAX 1e6 makes the loss NaN in the first epoch (a row, kept: a rerun trains nothing)."""
    args = ["sweep", "--data", str(sources["folder"]), "--out", str(tmp_path), "--max-lr", "1e6", "0.05",
            "--schedule", "one-cycle", "--finder-iters", "8", "--epochs", "2", "--batch-size", "25", "--workers", "0",
            "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    by_point = {r["point"]: r for r in rows(tmp_path)}
    assert by_point["one-cycle-e2-found"]["status"] == "untrusted" and "only rose" in by_point["one-cycle-e2-found"]["note"]
    blown = by_point["one-cycle-e2-lr1e+06"]
    assert blown["status"] == "diverged" and blown["diverged"] and blown["test_accuracy"] is None
    assert "in epoch 1, batch" in blown["note"] and by_point["one-cycle-e2-lr0.05"]["status"] == "done"
    capsys.readouterr()
    kept = (tmp_path / "one-cycle-e2-lr1e+06" / "seed-1" / "point.json").stat().st_mtime_ns
    assert main(args) == 0
    assert "epoch  1/2" not in capsys.readouterr().out  # every run was kept, the diverged one too
    assert (tmp_path / "one-cycle-e2-lr1e+06" / "seed-1" / "point.json").stat().st_mtime_ns == kept
    assert [r["status"] for r in rows(tmp_path)] == [by_point[p]["status"] for p in sorted(by_point)]


@pytest.mark.parametrize("flags, message", [
    (["--max-lr"], "expected at least one argument"),
    (["--max-lr", "0.1", "0"], "max-lr must be > 0"),
    (["--max-lr", "-0.1"], "max-lr must be > 0"),
    (["--schedule", "zigzag"], "invalid choice: 'zigzag'"),
    (["--epochs", "2", "4", "--peak-epoch", "3"], "peak-epoch (3) must come before the last epoch (2)"),
    (["--repeat", "0"], "repeat must be >= 1"),
    (["--max-lr", "0.1", "--schedule", "one-cycle", "--repeat", "100000"], "this sweep is 200,000 runs, more than --max-runs 1,000"),
    (["--max-lr", "0.1", "0.2", "--no-found", "--max-runs", "1"], "this sweep is 4 runs, more than --max-runs 1 (a guard against a typo in --repeat or a list); pass --max-runs 4 if you mean it"),
    (["--seed", "4294967295", "--repeat", "2"], "--seed 4294967295 with --repeat 2 reaches seed 4294967296, above"),
    (["--ray", "--ray-cpus", "-1"], "ray-cpus must be a finite number > 0"),
    (["--ray", "--ray-cpus", "nan"], "ray-cpus must be a finite number > 0"),
    (["--ray", "--ray-cpus", "0"], "ray-cpus must be a finite number > 0"),
    (["--ray", "--ray-gpus", "-1"], "ray-gpus must be a finite number >= 0"),
    (["--ray", "--ray-gpus", "inf"], "ray-gpus must be a finite number >= 0"),
    (["--ray", "--ray-timeout", "0"], "ray-timeout must be a finite number of seconds > 0"),
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
    err = capsys.readouterr().err
    assert f"{tmp_path} holds a finished train run (metrics.json); replace it with --overwrite (which removes it), " \
           "or pass another --out" in err and "--resume" not in err
    assert main(["train", "--data", str(learnable), "--out", str(swept), "--min-lr", "0.01", "--max-lr", "0.1",
                 *TINY]) == 2
    err = capsys.readouterr().err
    assert f"{swept} holds a sweep (sweep_config.json)" in err and "--resume" not in err


def test_train_repeat_checks_every_seed_before_any_work(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--seed", "4294967295",
                 "--repeat", "2"]) == 2
    assert "reaches seed 4294967296" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_the_grid_grows_in_every_list_and_a_refusal_names_what_differs(learnable, tmp_path, capsys):
    """A 2-epoch sweep grows by --epochs 2 3 (the grid's lists are left out of the settings two runs into
    one OUT must share: a seed or a schedule more is the same case), keeping its finished run untouched;
    another --subset is refused with the setting named, here and in OUT."""
    base = ["sweep", "--data", str(learnable), "--out", str(tmp_path), "--max-lr", "0.05", "--schedule", "one-cycle",
            "--no-found", "--batch-size", "50", "--workers", "0", "--device", "cpu", "--no-progress"]
    assert main([*base, "--epochs", "2"]) == 0
    first = tmp_path / "one-cycle-e2-lr0.05" / "seed-1" / "metrics.json"
    stamp = first.stat().st_mtime_ns
    assert f"sweep: 1 run (1 point x 1 seed) into {tmp_path}" in capsys.readouterr().out
    assert main([*base, "--epochs", "2", "3"]) == 0
    assert first.stat().st_mtime_ns == stamp and "kept from an earlier run" in capsys.readouterr().out
    assert [(r["point"], r["status"]) for r in rows(tmp_path)] == [("one-cycle-e2-lr0.05", "done"),
                                                                    ("one-cycle-e3-lr0.05", "done")]
    assert (tmp_path / "sweep_budget.png").exists()
    assert main([*base, "--epochs", "2", "--subset", "50"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {tmp_path} holds a sweep of other settings (--subset 50 here, unset in OUT); replace it "
                   "with --overwrite (which removes it), or pass another --out\n")
    assert first.stat().st_mtime_ns == stamp and len(rows(tmp_path)) == 2  # a shorter list keeps the rows too


def test_a_finished_point_keeps_its_weights_alone_and_gradcam_reads_them(swept, tmp_path):
    point = swept / "one-cycle-e2-lr0.2" / "seed-1"
    size = sum(f.stat().st_size for f in point.iterdir())
    assert size < 30e6, size  # the 52.6 MB checkpoint with SGD's momentum would not fit
    ckpt = torch.load(point / "checkpoint.pt", weights_only=True)
    assert sorted(ckpt) == ["config", "epoch", "format", "history", "lr_finder", "lr_max", "lr_min", "model"]
    assert main(["gradcam", "--checkpoint", str(point), "--device", "cpu", "--out", str(tmp_path / "cam.png")]) == 0
    assert (tmp_path / "cam.png").exists()


def test_summary_says_which_case_it_met(swept, tmp_path, capsys):
    started = tmp_path / "started"
    (started / "one-cycle-e2-lr0.1" / "seed-1").mkdir(parents=True)
    (started / "sweep_config.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    for folder, said in ((tmp_path / "nowhere", "no such path"), (tmp_path / "file", "is a file"),
                         (tmp_path / "empty", "is an empty folder"),
                         (started, "holds a sweep that has finished no run yet (1 run folders started, 0 done)")):
        assert main(["summary", str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err and err.count("\n") == 1, err


def test_a_points_lrmin_is_lrmax_over_100_as_written_and_a_duplicate_gets_a_note():
    from s11lib.config import Config
    from s11lib.sweep_plan import duplicates, grid_points

    points = grid_points(Config(), [0.1, 0.3, 0.7], ["one-cycle"], [24])
    assert [p.cfg.min_lr for p in points] == [0.001, 0.003, 0.007]  # not 0.0030000000000000005
    assert [p.name for p in points] == ["one-cycle-e24-lr0.1", "one-cycle-e24-lr0.3", "one-cycle-e24-lr0.7"]
    assert duplicates({"--max-lr": [0.1, 0.1, 0.2], "--epochs": [2]}) == [
        "note: --max-lr names 0.1 more than once; each point runs once"]
