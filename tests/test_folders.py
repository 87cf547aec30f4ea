"""One folder, one run, for every command: a folder holding another command's result is refused with
one line that offers only what works there, and --overwrite (overwrite=True) replaces it whole."""

import json
import shutil

import pytest

from s11lib import checkpoint
from s11lib.cli import main
from s11lib.config import ConfigError
from s11lib.outputs import FIND_LR_OUTPUTS, TRAIN_OUTPUTS

pytestmark = pytest.mark.xdist_group("folders")  # a folder of each kind of result: made once, in one test process

TINY = ["--subset", "20", "--batch-size", "10", "--epochs", "2", "--peak-epoch", "1", "--workers", "0", "--device", "cpu",
        "--no-progress"]
LRS = ["--min-lr", "0.01", "--max-lr", "0.1"]


def commands(data) -> dict[str, list[str]]:
    """Each command that writes a folder, as tiny as it goes (its --out comes last)."""
    return {"train": ["train", "--data", str(data), *LRS, *TINY],
            "repeat": ["train", "--repeat", "1", "--data", str(data), *LRS, *TINY],
            "find-lr": ["find-lr", "--data", str(data), "--subset", "20", "--batch-size", "10", "--finder-iters", "5",
                        "--workers", "0", "--device", "cpu", "--no-progress"],
            "sweep": ["sweep", "--data", str(data), "--max-lr", "0.1", "--schedule", "one-cycle", "--no-found",
                      *TINY[:2], *TINY[4:]]}


@pytest.fixture(scope="module")
def results(sources, trained, swept, tmp_path_factory) -> dict:
    """A folder of each kind of result: {kind: (folder, what the refusal says it holds)}."""
    base = tmp_path_factory.mktemp("results")
    made = commands(sources["folder"])
    for name in ("repeat", "find-lr"):
        assert main([*made[name], "--out", str(base / name)]) == 0
    shutil.copytree(trained, base / "finished")
    shutil.copytree(trained, base / "unfinished")
    (base / "unfinished" / "metrics.json").unlink()
    shutil.copytree(swept, base / "sweep")
    shutil.copytree(trained, base / "runs" / "try-1")
    return {"finished": "a finished train run (metrics.json)", "unfinished": "an unfinished train run (checkpoint.pt)",
            "repeat": "a finished train --repeat run (repeats.json)",
            "find-lr": "a range test (lr_finder.json, from find-lr)", "sweep": "a sweep (sweep_config.json)",
            "runs": "a folder of runs (try-1/)", "base": base}


def snapshot(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize("command", ["train", "repeat", "find-lr", "sweep"])
def test_every_command_refuses_every_other_result_with_what_works_there(command, results, sources, capsys):
    args = commands(sources["folder"])[command]
    for kind, what in results.items():
        if kind == "base" or (command, kind) in (("repeat", "repeat"),):
            continue
        folder = results["base"] / kind
        before = snapshot(folder)
        assert main([*args, "--out", str(folder)]) == 2, kind
        err = capsys.readouterr().err
        go_on = f"continue it with: python -m s11lib train --resume {folder}; " if kind == "unfinished" else ""
        if command == "sweep" and kind == "sweep":
            assert err.startswith(f"error: {folder} holds a sweep of other settings ("), err
        else:
            assert err == (f"error: {folder} holds {what}; {go_on}replace it with --overwrite (which removes it), or "
                           "pass another --out\n"), err
        assert snapshot(folder) == before, kind


def test_a_finished_repeat_is_refused_too(results, sources, capsys):
    folder = results["base"] / "repeat"
    assert main([*commands(sources["folder"])["repeat"], "--out", str(folder)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {folder} holds {results['repeat']}; replace it with --overwrite")


@pytest.mark.parametrize("command, kind, left", [
    ("train", "sweep", sorted(set(TRAIN_OUTPUTS) - {"lr_finder.png", "lr_finder.json"})),
    ("find-lr", "repeat", sorted(FIND_LR_OUTPUTS)),
    ("repeat", "runs", ["repeats.json", "seed-1"]),
    ("sweep", "finished", ["one-cycle-e2-lr0.1", "sweep.csv", "sweep.json", "sweep_config.json", "sweep_curves.png",
                           "sweep_lr.png"]),
])
def test_overwrite_replaces_another_commands_result_whole(command, kind, left, results, sources, tmp_path):
    folder = shutil.copytree(results["base"] / kind, tmp_path / kind)
    assert main([*commands(sources["folder"])[command], "--out", str(folder), "--overwrite"]) == 0
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == left


def test_the_python_api_says_overwrite_true(results, sources):
    import s11lib

    folder = results["base"] / "unfinished"
    with pytest.raises(s11lib.config.InputError) as e:
        s11lib.find_lr(out=folder, data=str(sources["folder"]))
    assert str(e.value) == (f"{folder} holds an unfinished train run (checkpoint.pt); continue it in a terminal with: python -m s11lib "
                            f"train --resume {folder}; replace it with overwrite=True (which removes it), or pass "
                            "another out")


def test_resume_says_what_cannot_be_resumed_in_one_line(results, tmp_path, capsys):
    finished = results["base"] / "finished"
    assert main(["train", "--resume", str(finished)]) == 2
    assert capsys.readouterr().err == (f"error: the run in {finished} finished (metrics.json): nothing to resume; its "
                                       f"results: s11 summary {finished}\n")
    slim = shutil.copytree(results["base"] / "unfinished", tmp_path / "point")
    checkpoint.slim(slim / "checkpoint.pt")  # a sweep point's weights alone
    assert main(["train", "--resume", str(slim)]) == 2
    assert capsys.readouterr().err == (f"error: {slim / 'checkpoint.pt'} holds a sweep point's weights alone (no "
                                       "optimizer or random state), which cannot be resumed; the point's row is in "
                                       "its sweep's sweep.csv\n")


def test_summary_of_a_diverged_sweep_point_offers_no_resume(results, tmp_path, capsys):
    point = shutil.copytree(results["base"] / "unfinished", tmp_path / "one-cycle-e2-lr50" / "seed-1")
    checkpoint.slim(point / "checkpoint.pt")
    row = {"point": "one-cycle-e2-lr50", "seed": 1, "status": "diverged", "note": "the training loss reached 361"}
    (point / "point.json").write_text(json.dumps({"config": {}, "row": row}))
    assert main(["summary", str(point)]) == 0
    said = capsys.readouterr().out
    assert said == "a sweep's run, one-cycle-e2-lr50 seed 1: diverged; the training loss reached 361\n"


# Two runs never hold one folder: the lock taken must be the file that is there now

RACER = """
import os, sys
from pathlib import Path
from s11lib.config import ConfigError
from s11lib.outputs import claimed

out, marker, held = Path(sys.argv[1]), Path(sys.argv[1]) / "holder", 0
for _ in range(int(sys.argv[2])):
    try:
        with claimed(out):
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # fails if another holder is inside
            os.close(fd)
            os.unlink(marker)
            held += 1
    except ConfigError:
        pass
    except FileExistsError:
        print("BOTH HELD THE FOLDER")
print("held", held)
"""


def test_claims_raced_across_processes_never_hold_one_folder_twice(tmp_path):
    import subprocess
    import sys

    from conftest import HANG

    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), "300"], stdout=subprocess.PIPE, text=True)
              for _ in range(4)]
    said = [r.communicate(timeout=HANG)[0] for r in racers]
    assert all(r.returncode == 0 for r in racers) and not any("BOTH" in s for s in said), said
    assert sum(int(s.split()[-1]) for s in said) > 0  # the folder was held, one at a time


def test_a_lock_taken_on_a_file_another_run_unlinked_is_let_go(tmp_path, monkeypatch):
    """The interleaving that held one folder twice: B opens the lock file; A, done, unlinks it and lets go; C
    locks the new file; B's flock on the old one succeeds. B must find it stale and be refused (C holds it)."""
    import builtins

    from s11lib import outputs

    with outputs.claimed(tmp_path):  # A
        stale = open(tmp_path / outputs.LOCK, "a")  # B's open, before A unlinks
    with outputs.claimed(tmp_path):  # C holds the folder now
        opened = iter([stale])
        monkeypatch.setattr(outputs, "open", lambda *a, **k: next(opened, None) or builtins.open(*a, **k),
                            raising=False)
        with pytest.raises(ConfigError, match="another run is writing into"):
            outputs.hold_lock(tmp_path)  # B goes on from its open
    assert stale.closed


def test_a_file_system_without_locks_is_said_apart_from_another_run(tmp_path, monkeypatch, capsys):
    import errno
    import fcntl

    from s11lib import outputs

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with outputs.claimed(tmp_path) as folder:
        folder.write("config.json", text="{}")
    err = capsys.readouterr().err
    assert "file system without locks (No locks available)" in err and "another run" not in err
