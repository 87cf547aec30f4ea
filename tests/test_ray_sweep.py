"""``sweep --ray`` (issue 25) through one local Ray with 2 CPUs (conftest's ``ray_cluster``): the same
rows as the local sweep, a rerun that runs only what is missing, a point whose worker cannot read
the data failing alone, and no Ray at all answered with one line."""

import json
import sys

from conftest import SWEEP_GRID
from s11lib.cli import main

# 2 CPUs a point, as many threads as a local run uses: the same arithmetic, so the same accuracies
RAY = ["--ray", "--ray-cpus", "2"]


def rows(out):
    return json.loads((out / "sweep.json").read_text())


def history(run):
    """history.csv without its wall-clock column."""
    lines = [line.split(",") for line in (run / "history.csv").read_text().splitlines()]
    return [line[:-1] for line in lines]


def test_a_sweep_through_ray_writes_the_local_sweeps_rows_and_a_rerun_runs_nothing(ray_cluster, swept, learnable,
                                                                                     tmp_path, capsys):
    args = ["sweep", "--data", str(learnable), "--out", str(tmp_path), *SWEEP_GRID, *RAY]
    assert main(args) == 0
    said = capsys.readouterr().out
    ours, local = rows(tmp_path), rows(swept)
    same = ("point", "schedule", "epochs", "lr_min", "lr_max", "seed", "status", "test_accuracy", "test_accuracy_tta")
    assert [{k: r[k] for k in same} for r in ours] == [{k: r[k] for k in same} for r in local]
    assert all(r["host"] for r in ours) and "[4/4]" in said and "0 left" in said
    for point in ("one-cycle-e2-lr0.05", "step-e2-lr0.2"):  # the run folders came back whole
        ray_run, local_run = (history(d / point / "seed-1") for d in (tmp_path, swept))
        assert ray_run == local_run and len(ray_run) == 3  # the header and 2 epochs
        assert (tmp_path / point / "seed-1" / "checkpoint.pt").exists()
    assert (tmp_path / "sweep_lr.png").exists() and (tmp_path / "sweep_curves.png").exists()
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("metrics.json")}
    assert main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("metrics.json")} == stamps  # nothing ran again
    assert [r["test_accuracy"] for r in rows(tmp_path)] == [r["test_accuracy"] for r in ours]


def test_a_point_whose_worker_cannot_read_the_data_fails_alone_with_one_line(ray_cluster, tmp_path, capsys):
    missing = tmp_path / "not-on-this-node.tar.gz"
    assert main(["sweep", "--data", str(missing), "--out", str(tmp_path / "out"), "--max-lr", "0.1", "0.2",
                 "--schedule", "one-cycle", "--no-found", "--epochs", "2", "--device", "cpu", *RAY]) == 0
    failed = rows(tmp_path / "out")
    assert [r["status"] for r in failed] == ["failed", "failed"]
    assert all(r["note"] == f"DataError: data path {missing} does not exist; pass --data torchvision to download "
               "CIFAR-10, or a folder/archive" for r in failed), failed[0]["note"]


def test_ray_missing_is_one_error_line_that_names_the_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    assert main(["sweep", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--ray"]) == 2
    err = capsys.readouterr().err
    assert err == "error: sweep --ray needs Ray, which is not installed here: pip install 'ray>=2.31'\n"
    assert not (tmp_path / "out").exists()
