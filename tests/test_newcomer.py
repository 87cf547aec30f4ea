"""What a new user meets: output folders that are safe, messages that are true, a CLI that answers at once."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import s11lib.checkpoint as checkpoint
import s11lib.gradcam as gradcam_module
import s11lib.range_tests as range_tests
import s11lib.steps as steps
from conftest import HANG
from s11lib.cli import main
from s11lib.outputs import LOCK
from s11lib.engine import format_row

ROOT = Path(__file__).resolve().parents[1]
# 20 images (2 of each class), 2 batches an epoch: these tests are about files and messages, not accuracy
FAST = ["--subset", "20", "--epochs", "2", "--peak-epoch", "1", "--batch-size", "10", "--workers", "0", "--device", "cpu",
        "--no-progress"]
LRS = ["--min-lr", "0.01", "--max-lr", "0.1"]
# a range test that can be read needs data a net learns: the learnable fixture, 4 batches an epoch
FOUND = ["--finder-iters", "8", "--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0",
         "--device", "cpu"]


def run(args, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def error_line(err: str) -> str:
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    return line


@pytest.fixture(scope="module")
def finished(tmp_path_factory, sources) -> Path:
    out = tmp_path_factory.mktemp("finished")
    assert main(["train", "--data", str(sources["tar.gz"]), "--out", str(out), *LRS, *FAST]) == 0
    return out


def test_a_folder_holding_a_run_is_refused_unless_overwritten(finished, sources, capsys):
    before = (finished / "metrics.json").read_text()
    code, _, err = run(["train", "--data", sources["tar.gz"], "--out", finished, *LRS, *FAST, "--seed", "9"], capsys)
    assert code == 2
    assert error_line(err).startswith(f"error: {finished} holds a finished train run (metrics.json); replace it with "
                                      "--overwrite (which removes it), or pass another --out")
    assert "--resume" not in err  # a finished run has nothing to resume
    assert (finished / "metrics.json").read_text() == before


def test_overwrite_replaces_the_run_and_leaves_none_of_the_old_files(tmp_path, sources, learnable, capsys):
    assert main(["train", "--data", str(learnable), "--out", str(tmp_path), *FOUND, "--no-progress"]) == 0
    assert (tmp_path / "lr_finder.png").exists() and (tmp_path / "lr_finder.json").exists()
    code, out, _ = run(["train", "--data", sources["tar.gz"], "--out", tmp_path, "--overwrite", "--seed", "4", *LRS, *FAST],
                       capsys)
    assert code == 0
    assert not (tmp_path / "lr_finder.png").exists()  # the new run found no LRs: no stale range test beside it
    assert not (tmp_path / "lr_finder.json").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["seed"] == 4


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path, sources, capsys):
    with open(tmp_path / LOCK, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run in progress holds it
        code, _, err = run(["train", "--data", sources["tar.gz"], "--out", tmp_path, *LRS, *FAST], capsys)
    assert code == 2 and "another run is writing into" in error_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK]  # nothing of its own written


def test_an_empty_out_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--out", "", "--data", "x"])
    assert e.value.code == 2 and "not an empty string" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["zigzag"], ["train", "--data", "DATA", *LRS, *FAST], ["find-lr", "--data", "DATA"]])
def test_an_out_that_cannot_be_created_fails_before_any_work(command, sources, capsys):
    args = [str(sources["tar.gz"]) if a == "DATA" else a for a in command]
    code, _, err = run([*args, "--out", "/proc/s11lib-test/x.png" if command == ["zigzag"] else "/proc/s11lib-test"],
                       capsys)
    assert code == 2 and "cannot write into /proc/s11lib-test" in error_line(err)


def test_figures_go_into_folders_that_do_not_exist_yet(tmp_path, finished, capsys):
    assert main(["zigzag", "--out", str(tmp_path / "new" / "z.png"), "--step-size", "5", "--cycles", "1"]) == 0
    assert (tmp_path / "new" / "z.png").stat().st_size > 0
    # no --data: the checkpoint's own source is read, not a download
    code, out, _ = run(["gradcam", "--checkpoint", finished, "--out", tmp_path / "a" / "b" / "pairs.png",
                        "--device", "cpu", "--target", "both"], capsys)
    assert code == 0 and "from ImageFolder" in out
    assert (tmp_path / "a" / "b" / "pairs.png").stat().st_size > 0


def test_an_interrupt_while_a_checkpoint_is_written_names_the_epoch_it_holds(tmp_path, sources, capsys, monkeypatch):
    real, calls = checkpoint.atomic_save, []

    def interrupted_on_the_second(obj, path):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # mid-write: the file still holds epoch 1
        real(obj, path)

    monkeypatch.setattr(checkpoint, "atomic_save", interrupted_on_the_second)
    code, _, err = run(["train", "--data", sources["tar.gz"], "--out", tmp_path, *LRS, *FAST, "--epochs", "3"], capsys)
    assert code == 130 and "holds epoch 1 of 3" in error_line(err)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"] == 1


@pytest.mark.parametrize("where, said, kept", [
    ("data", "interrupted while reading the data", "nothing was kept: the same command starts it again"),
    ("range test", "interrupted while running the LR range test", "nothing was kept: the same command starts it again"),
    ("gradcam", "interrupted while drawing GradCAM maps", "training had finished"),
])
def test_an_interrupt_says_what_it_stopped_and_what_was_kept(where, said, kept, tmp_path, sources, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    target = {"data": (steps, "load_cifar10"), "range test": (range_tests, "find_lrs"),
              "gradcam": (gradcam_module, "gradcam")}[where]
    monkeypatch.setattr(*target, interrupt)
    out = tmp_path / "run"
    lrs = [] if where == "range test" else LRS
    code, _, err = run(["train", "--data", sources["tar.gz"], "--out", out, *lrs, "--finder-iters", "5", *FAST], capsys)
    line = error_line(err)
    assert code == 130 and line.startswith(f"error: {said}") and kept in line
    if where != "gradcam":  # no epoch was kept: the run's files are gone, and the folder it made
        assert not out.exists()
    if where == "gradcam":  # not finished until every output is there: the resume draws them
        assert f"python -m s11lib train --resume {out}" in line and not (out / "metrics.json").exists()


def test_a_run_whose_gradcam_failed_is_unfinished_and_its_resume_draws_without_training(tmp_path, sources, capsys,
                                                                                         monkeypatch):
    """As with a torchvision that does not match torch: training ends, GradCAM fails. The run is not finished,
    and --resume scores and draws it from the checkpoint's last epoch, training nothing."""
    from s11lib import engine
    from s11lib.outputs import contents

    def broken(*args, **kwargs):
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(gradcam_module, "gradcam", broken)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="nms"):
        main(["train", "--data", str(sources["tar.gz"]), "--out", str(out), *LRS, *FAST])
    history = (out / "history.csv").read_text()
    assert contents(out)[0] == "unfinished" and not (out / "metrics.json").exists() and not (out / "gradcam.png").exists()
    monkeypatch.undo()
    monkeypatch.setattr(engine, "train_one_epoch", broken)  # a resume that trained would fail here
    code, said, _ = run(["train", "--resume", out], capsys)
    assert code == 0 and (out / "gradcam.png").stat().st_size > 0 and contents(out)[0] == "finished"
    assert (out / "history.csv").read_text() == history
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2


def test_a_given_max_lr_below_the_found_min_says_so_the_right_way_round(tmp_path, learnable, capsys):
    code, _, err = run(["train", "--data", learnable, "--out", tmp_path, "--max-lr", "1e-7", *FOUND, "--no-progress"],
                       capsys)
    assert code == 2
    assert "found LRMIN" in error_line(err) and "not below the given max-lr 1e-07" in err


def test_the_wrote_line_names_only_what_this_run_wrote(tmp_path, sources, capsys, interrupt_in_epoch):
    code, out, _ = run(["train", "--data", sources["tar.gz"], "--out", tmp_path, *LRS, *FAST, "--epochs", "3"], capsys)
    wrote = next(line for line in out.splitlines() if line.startswith("wrote "))
    assert "lr_finder.png" not in wrote and "augmented.png" in wrote and "confusion.png" in wrote
    written = wrote.removeprefix("wrote ").rsplit(" to ", 1)[0].split(", ")
    assert sorted(written) == sorted(p.name for p in tmp_path.iterdir())
    assert len(written) == len(set(written))
    # a run stopped in epoch 2, resumed through its checkpoint's path (as the error message offers)
    interrupt_in_epoch(2)
    assert run(["train", "--data", sources["tar.gz"], "--out", tmp_path / "cut", *LRS, *FAST], capsys)[0] == 130
    interrupt_in_epoch(None)
    code, out, _ = run(["train", "--resume", tmp_path / "cut" / "checkpoint.pt"], capsys)
    wrote = next(line for line in out.splitlines() if line.startswith("wrote "))
    assert code == 0 and "augmented.png" not in wrote and "config.json" not in wrote and "checkpoint.pt" in wrote


@pytest.mark.parametrize("args", [["train", "--out", "x", "--epochs", "0"], ["train", "--data", "/no/such", "--out", "x"],
                                  ["train", "--repeat", "2", "--data", "/no/such", "--out", "x"],
                                  ["find-lr", "--data", "/no/such", "--out", "x"]],
                         ids=["a setting", "a missing data path", "the same with --repeat", "find-lr's"])
def test_arguments_are_checked_before_torch_is_imported(args):
    code = (f"import sys; from s11lib.cli import main; c = main({args!r}); "
            "print(c, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=HANG)
    assert done.stdout.split() == ["2", "False"], done.stderr


def test_small_lrs_show_in_the_epoch_line():
    row = {"epoch": 1, "lr": 2.5e-5, "train_loss": 2.3, "train_acc": 10.0, "test_loss": 2.3, "test_acc": 10.0, "seconds": 1.0}
    assert "lr 2.5e-05 " in format_row(row, 2)


def test_ci_runs_readmes_test_command_as_written():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    commands = [line for block in blocks for line in block.splitlines() if line.strip()]
    test_command = next(c for c in commands if "pytest" in c)
    assert (ROOT / ".ci" / "run").read_text().rstrip().splitlines()[-1] == test_command
    assert test_command.startswith("pip install") and "requirements-dev.txt" in test_command  # it installs what it needs


def test_a_torchvision_that_does_not_work_with_torch_is_one_line_before_any_work(tmp_path, sources):
    """The fault as pip lets it through: a torchvision whose import fails beside this torch. The run says so in
    one line and leaves nothing, instead of training and then failing in GradCAM."""
    fake = tmp_path / "site" / "torchvision"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "s11lib", "train", "--data", str(sources["tar.gz"]), "--out", str(out),
                           *LRS, *FAST], capture_output=True, text=True, timeout=HANG,
                          env={**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{Path(steps.__file__).parents[1]}"})
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().count("\n") == 0 and "does not work with torch" in done.stderr
    assert "(operator torchvision::nms does not exist)" in done.stderr and not out.exists()
