"""``sweep --ray`` through one local Ray with 2 CPUs (conftest's ``ray_cluster``, token authentication
on where Ray has it; its tasks train the narrow net, as the local sweep here does): the same rows as the
local sweep, each naming its host; a rerun from another process joining the cluster by its address with
the token, training nothing and keeping every row and the hosts; a sweep whose every run failed ending
non-zero; and what cannot work answered at once."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import HANG, SWEEP_GRID, TINY_SWEEP, NarrowResNet9, ray_token_auth
from s11lib import provenance
from s11lib.cli import main
from s11lib.model import count_parameters

# 2 CPUs a point, as many threads as a local run uses: the same arithmetic, so the same accuracies
RAY = ["--ray", "--ray-cpus", "2"]


def rows(out):
    return json.loads((out / "sweep.json").read_text())


def history(run):
    """history.csv without its wall-clock column."""
    lines = [line.split(",") for line in (run / "history.csv").read_text().splitlines()]
    return [line[:-1] for line in lines]


def run_cli(*args, env=None, timeout=HANG):
    return subprocess.run([sys.executable, "-m", "s11lib", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_a_sweep_through_ray_writes_the_local_sweeps_rows_and_a_rerun_by_address_keeps_them(
        ray_cluster, learnable, tmp_path, capsys):
    grid = [*SWEEP_GRID]
    grid[grid.index("step")] = "one-cycle"  # two of conftest's four points are enough
    swept = tmp_path / "local"
    assert main(["sweep", "--data", str(learnable), "--out", str(swept), *grid]) == 0  # the same sweep, here
    out = tmp_path / "ray"
    args = ["sweep", "--data", str(learnable), "--out", str(out), *grid, *RAY]
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr().out
    ours, local = rows(out), rows(swept)
    same = ("point", "schedule", "epochs", "lr_min", "lr_max", "seed", "status", "test_accuracy", "test_accuracy_tta")
    assert [{k: r[k] for k in same} for r in ours] == [{k: r[k] for k in same} for r in local]
    assert all(r["host"] for r in ours) and all(r["host"] for r in local)
    assert "[2/2]" in said and "0 left" in said
    for point in ("one-cycle-e2-lr0.05", "one-cycle-e2-lr0.2"):  # the run folders came back whole
        ray_run, local_run = (history(d / point / "seed-1") for d in (out, swept))
        assert ray_run == local_run and len(ray_run) == 3  # the header and 2 epochs
        ckpt = out / point / "seed-1" / "checkpoint.pt"
        n = count_parameters(NarrowResNet9())  # the net the tasks trained, as here
        assert 4 * n < ckpt.stat().st_size < 5 * n  # its weights alone came back (4 bytes each), not SGD's momentum
        m = json.loads((out / point / "seed-1" / "metrics.json").read_text())
        # the code is the driver's checkout (the worker's copy of s11lib is none); the machine is the worker's
        assert m["commit"] == m["starts"][0]["commit"] == provenance.commit() and m["commit"]
        assert m["threads"] == 2 and m["device_name"] and m["torch_version"]
    assert all(r["commit"] == provenance.commit() for r in ours)
    assert (out / "sweep_lr.png").exists() and (out / "sweep_curves.png").exists()

    # As on a real cluster, another process joins this Ray at its address (with the token from the
    # environment, where Ray has token authentication), through the runner's own start: it trains the one
    # run whose folder is gone, the same numbers again, and keeps the other's row.
    import shutil

    shutil.rmtree(out / "one-cycle-e2-lr0.2")
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("metrics.json")}
    done = run_cli(*args[:-len(RAY)], "--ray", ray_cluster.address)
    assert done.returncode == 0, done.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("metrics.json") if p in stamps} == stamps  # kept, not rerun
    assert (out / "one-cycle-e2-lr0.2" / "seed-1" / "metrics.json").is_file()  # trained by the joined cluster
    assert done.stdout.count("kept from an earlier run") == 1 and "using the Ray this process" not in done.stdout
    again = {r["point"]: r for r in rows(out)}
    kept, trained = ours[0], again["one-cycle-e2-lr0.2"]
    assert again[kept["point"]] == kept  # a kept row keeps its numbers and the host it ran on
    assert trained["status"] == "done" and trained["host"] and trained["commit"] == provenance.commit()
    # (its numbers are another job's: the joining driver ships s11lib alone, without the narrow net's path)


@pytest.mark.skipif(not ray_token_auth(), reason="this Ray has no token authentication (2.52 and later)")
def test_a_wrong_token_is_refused_before_the_sweep_touches_anything(ray_cluster, learnable, tmp_path):
    (tmp_path / "sweep_config.json").write_text('{"settings": {}}')  # a sweep there, which --overwrite would clear
    refused = run_cli("sweep", "--data", learnable, "--out", tmp_path, *SWEEP_GRID, "--ray", ray_cluster.address,
                      "--ray-timeout", "4", "--overwrite", env={"RAY_AUTH_TOKEN": "not-the-token"})
    assert refused.returncode == 2 and refused.stderr.startswith(
        f"error: no Ray cluster answers at {ray_cluster.address} within 4 s"), refused.stderr
    assert "refused this machine's token" in refused.stderr  # Ray does not say so itself: the join only hangs
    assert [p.name for p in tmp_path.iterdir()] == ["sweep_config.json"]  # refused before it touched anything
    from s11lib.ray_sweep import probe

    assert probe(ray_cluster.address, timeout=60)["CPU"] >= 1  # the same address with the right token: it was the token


def test_a_sweep_whose_every_run_failed_exits_non_zero_without_an_empty_figure(ray_cluster, tmp_path, capsys):
    """The data is not where the workers look: each run fails alone with one line, and the sweep,
    having measured nothing, says so and exits 1; ``summary`` of its folder says the same."""
    missing, out = tmp_path / "not-on-this-node.tar.gz", tmp_path / "out"
    assert main(["sweep", "--data", str(missing), "--out", str(out), "--max-lr", "0.1", "0.2",
                 "--schedule", "one-cycle", "--no-found", "--epochs", "2", "--device", "cpu", *RAY]) == 1
    note = f"DataError: data path {missing} does not exist; pass --data torchvision to download CIFAR-10, or a folder/archive"
    failed = rows(out)
    assert [r["status"] for r in failed] == ["failed", "failed"] and all(r["note"] == note for r in failed)
    assert all(r["host"] for r in failed)  # the worker it failed on
    err = capsys.readouterr().err
    assert err == ("error: no run of this sweep finished or diverged (2 rows, none measured); the first failed one, "
                   f"one-cycle-e2-lr0.1 seed 1: {note}\n")
    assert not list(out.glob("sweep_*.png"))
    assert main(["summary", str(out)]) == 1
    assert capsys.readouterr().err == err


def test_an_address_nobody_answers_at_is_one_line_within_the_timeout(tmp_path):
    """Ray itself retries such an address for minutes, printing a warning every few seconds."""
    start = time.perf_counter()
    done = run_cli("sweep", "--ray", "127.0.0.1:1", "--ray-timeout", "5", "--data", tmp_path, "--out",
                   tmp_path / "out", "--max-lr", "0.1", "--no-found", *TINY_SWEEP)
    assert time.perf_counter() - start < 60
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("error: no Ray cluster answers at 127.0.0.1:1 within 5 s"), done.stderr
    assert not (tmp_path / "out").exists()


def test_ray_missing_is_one_error_line_that_names_the_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    assert main(["sweep", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--ray"]) == 2
    err = capsys.readouterr().err
    assert err == "error: sweep --ray needs Ray, which is not installed here: pip install 'ray>=2.31'\n"
    assert not (tmp_path / "out").exists()


def test_a_ray_tasks_file_named_to_land_outside_the_sweeps_folder_is_refused(ray_cluster, tmp_path):
    """A task (a worker running other code, or a hostile one) returns names that climb out of the folder."""
    import ray

    from s11lib.config import ConfigError
    from s11lib.ray_sweep import _land

    @ray.remote(num_cpus=1)
    def task(name):
        return {name: b"written by a worker"}

    out = tmp_path / "sweep"
    out.mkdir()
    for name in ("../x", "point/../../x", str(tmp_path / "abs"), "."):
        with pytest.raises(ConfigError, match="would land outside the sweep's folder"):
            _land(out, ray.get(task.remote(name)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"] and list(out.iterdir()) == []
    _land(out, ray.get(task.remote("point/seed-1/history.csv")))
    assert (out / "point" / "seed-1" / "history.csv").read_bytes() == b"written by a worker"


def test_another_address_is_refused_while_this_process_runs_ray(ray_cluster, learnable, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", "--data", str(learnable), "--out", str(out), *SWEEP_GRID, "--ray", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: this process already runs Ray (its cluster at {ray_cluster.address}), so it cannot join "
                   "127.0.0.1:1: pass --ray alone to use the running one, or sweep from a new process\n")
    assert not out.exists()


def test_a_driver_that_fails_mid_sweep_cancels_the_tasks_in_flight(ray_cluster, learnable, tmp_path, monkeypatch,
                                                                    capsys):
    """Not only Ctrl-C: the first run's files are refused (as a name outside the folder is), the driver stops
    with one line, and the runs still in flight are cancelled rather than left to train for nobody."""
    from s11lib import ray_sweep
    from s11lib.config import ConfigError

    cancelled = []
    real_cancel = ray_cluster.ray.cancel
    monkeypatch.setattr(ray_cluster.ray, "cancel", lambda ref, **kw: cancelled.append(ref) or real_cancel(ref, **kw))

    def refuse(out, files):
        raise ConfigError("a Ray task sent a file named '../x', which would land outside the sweep's folder")

    monkeypatch.setattr(ray_sweep, "_land", refuse)
    out = tmp_path / "out"
    assert main(["sweep", "--data", str(learnable), "--out", str(out), "--max-lr", "0.05", "0.1", "0.2",
                 "--schedule", "one-cycle", "--no-found", *TINY_SWEEP, *RAY]) == 2
    assert "would land outside the sweep's folder" in capsys.readouterr().err
    assert len(cancelled) == 2  # the two runs still pending when the first came back
