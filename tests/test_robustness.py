"""Bad input gets one clear line (exit 2), runs resume exactly, same seed same result."""

from __future__ import annotations

import csv
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import s11lib.engine as engine
from conftest import HANG, narrow_env
from s11lib import checkpoint
from s11lib.cli import main
from s11lib.config import Config, ConfigError

pytestmark = pytest.mark.xdist_group("robustness")  # the reference runs: made once, in one test process

TINY_RUN = ["--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--device", "cpu", "--no-progress"]


def run_main(args: list[str], capsys) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def assert_one_error(code: int, err: str, message: str, expected_code: int = 2) -> None:
    assert code == expected_code, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert message in errors[0], errors[0]
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------
# Bad data: each case names what is wrong, and nothing is written


def folder_copy(sources, tmp_path) -> Path:
    return Path(shutil.copytree(sources["folder"], tmp_path / "data"))


def broken_sources(kind: str, sources, tmp_path) -> Path:
    if kind == "empty folder":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty"
    if kind == "file of another kind":
        (tmp_path / "notes.txt").write_text("hello")
        return tmp_path / "notes.txt"
    if kind == "truncated archive":
        blob = sources["tar.gz"].read_bytes()
        (tmp_path / "cut.tar.gz").write_bytes(blob[: len(blob) // 2])
        return tmp_path / "cut.tar.gz"
    if kind == "corrupt archive":
        (tmp_path / "junk.zip").write_bytes(os.urandom(2000))
        return tmp_path / "junk.zip"
    if kind == "pickled batch missing":
        root = Path(shutil.copytree(sources["pickled"], tmp_path / "cifar-10-batches-py"))
        (root / "data_batch_3").unlink()
        return root
    if kind == "pickled batch damaged":
        root = Path(shutil.copytree(sources["pickled"], tmp_path / "cifar-10-batches-py"))
        (root / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((3, 7), np.uint8), b"labels": [0, 1, 2]}))
        return root
    root = folder_copy(sources, tmp_path)
    if kind == "no test folder":
        shutil.rmtree(root / "test")
    elif kind == "class folder missing":
        shutil.rmtree(root / "train" / "cat")
    elif kind == "extra class folder":
        shutil.copytree(root / "train" / "cat", root / "train" / "kitten")
    elif kind == "misnamed class folder":
        (root / "test" / "truck").rename(root / "test" / "lorry")
    elif kind == "undecodable image":
        (root / "train" / "dog" / "0005.png").write_bytes(b"not a png at all")
    elif kind == "not an image file":
        (root / "train" / "dog" / "notes.txt").write_text("hello")
    elif kind == "wrong size":
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "train" / "dog" / "0005.png")
    elif kind == "not RGB":
        Image.fromarray(np.zeros((32, 32), np.uint8)).save(root / "test" / "frog" / "0006.png")
    return root


BAD_DATA = {
    "empty folder": "is empty",
    "file of another kind": "not an archive",
    "truncated archive": "truncated or corrupt",
    "corrupt archive": "truncated or corrupt",
    "pickled batch missing": "has no data_batch_3",
    "pickled batch damaged": "batch data_batch_2 is damaged",
    "no test folder": "has no test/",
    "class folder missing": "missing: cat",
    "extra class folder": "unexpected: kitten",
    "misnamed class folder": "missing: truck; unexpected: lorry",
    "undecodable image": "cannot be decoded",
    "not an image file": "is not an image file",
    "wrong size": "16x16",
    "not RGB": "32x32 L image",
}


@pytest.mark.parametrize("kind", BAD_DATA)
def test_bad_data_is_one_clear_error_and_writes_nothing(kind, sources, tmp_path, capsys):
    data = broken_sources(kind, sources, tmp_path)
    out = tmp_path / "out"
    code, err = run_main(["train", "--data", data, "--out", out, "--min-lr", "0.01", "--max-lr", "0.1", *TINY_RUN], capsys)
    assert_one_error(code, err, BAD_DATA[kind])
    assert not out.exists()


def test_no_internet_names_the_way_out(monkeypatch, tmp_path, capsys):
    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    code, err = run_main(["train", "--out", tmp_path / "out", "--data-dir", tmp_path / "new" / "data", *TINY_RUN], capsys)
    assert_one_error(code, err, "could not download CIFAR-10")
    assert "--data PATH" in err
    assert not (tmp_path / "new").exists()  # the folders made for the download go with it


# ---------------------------------------------------------------------------------------
# Impossible settings: refused before anything is read


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "0"], "batch-size must be > 0"),
    (["--epochs", "0"], "epochs must be > 0"),
    (["--subset", "0"], "subset must be > 0"),
    (["--subset", "5"], "at least one image per class"),
    (["--epochs", "4", "--peak-epoch", "6"], "peak-epoch (6) must come before the last epoch (4)"),
    (["--min-lr", "0.2", "--max-lr", "0.1"], "min-lr (0.2) must be below max-lr (0.1)"),
    (["--max-lr", "-1"], "max-lr must be > 0"),
    (["--weight-decay", "-0.1"], "weight-decay must be >= 0"),
    (["--finder-iters", "1"], "finder-iters must be >= 5"),
    (["--seed", "-1"], "seed must be between 0 and 4294967295"),
    (["--seed", str(2**32)], "seed must be between 0 and 4294967295"),
    (["--max-lr", "nan"], "max-lr must be a finite number, got nan"),
    (["--max-lr", "inf"], "max-lr must be a finite number, got inf"),
    (["--min-lr", "nan", "--max-lr", "0.1"], "min-lr must be a finite number"),
    (["--min-lr=-inf"], "min-lr must be a finite number"),
])
def test_impossible_settings(flags, message, tmp_path, capsys):
    code, err = run_main(["train", "--data", "/no/such/data", "--out", tmp_path / "out", *flags], capsys)
    assert_one_error(code, err, message)


def test_cuda_asked_without_cuda(tmp_path, capsys, sources):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, err = run_main(["train", "--data", sources["folder"], "--out", tmp_path / "out", "--device", "cuda"], capsys)
    assert_one_error(code, err, "device cuda was asked for but is not available")


def test_output_folder_that_is_a_file(tmp_path, capsys, sources):
    (tmp_path / "out").write_text("")
    code, err = run_main(["train", "--data", sources["folder"], "--out", tmp_path / "out"], capsys)
    assert_one_error(code, err, "is a file")


@pytest.mark.parametrize("args", [["train", "--out", "x", "--epoch", "3"], ["train", "--out", "x", "--device", "tpu"],
                                  ["train", "--out", "x", "--epochs", "three"]])
def test_unknown_flags_and_values_exit_2(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert len([line for line in capsys.readouterr().err.splitlines() if "error:" in line]) == 1


def test_config_refuses_unknown_fields():
    with pytest.raises(ConfigError, match="unknown config field"):
        Config.from_dict({**Config().to_dict(), "epcohs": 3})


# ---------------------------------------------------------------------------------------
# Checkpoints


def test_missing_corrupt_and_foreign_checkpoints(tmp_path, capsys, sources):
    base = ["gradcam", "--data", sources["folder"], "--out", tmp_path / "cam.png", "--device", "cpu", "--checkpoint"]
    assert_one_error(*run_main([*base, tmp_path / "none.pt"], capsys), "does not exist")
    (tmp_path / "bad.pt").write_bytes(b"\x80\x04garbage")
    assert_one_error(*run_main([*base, tmp_path / "bad.pt"], capsys), "truncated or corrupt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    assert_one_error(*run_main([*base, tmp_path / "other.pt"], capsys), "is not a checkpoint of this version")
    torch.save({"format": checkpoint.FORMAT, "config": Config().to_dict(), "model": {"fc.weight": torch.zeros(3, 3)}}, tmp_path / "shape.pt")
    assert_one_error(*run_main([*base, tmp_path / "shape.pt"], capsys), "does not fit this ResNet-9")
    assert not (tmp_path / "cam.png").exists()


def test_resume_refuses_flags_that_would_change_the_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--resume", str(tmp_path), "--epochs", "5"])
    assert e.value.code == 2
    assert "drop --epochs" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Faults during a run


def test_nan_loss_stops_with_the_epoch_and_the_lr(tmp_path, capsys, sources):
    code, err = run_main(["train", "--data", sources["folder"], "--out", tmp_path, "--min-lr", "1e6", "--max-lr", "1e9",
                          "--workers", "0", *TINY_RUN], capsys)
    assert_one_error(code, err, "in epoch 1, batch", expected_code=3)
    assert "at LR" in err and "no epoch finished" in err


def test_a_run_that_blew_up_without_a_nan_stops_too(tmp_path, capsys, sources):
    """LR 50: the loss reaches millions and the net scores 10%, all finite: the run stops as diverged
    (the real archive's case is docs/errors.md's command, run by tests/test_readme.py)."""
    code, err = run_main(["train", "--data", sources["folder"], "--out", tmp_path / "out", "--schedule", "constant",
                          "--min-lr", "0.5", "--max-lr", "50", "--workers", "0", *TINY_RUN], capsys)
    assert_one_error(code, err, "error: the training loss reached", expected_code=3)
    assert "in epoch 1, batch 3 at LR 50, above 230, which no run that learns reaches; no epoch finished" in err
    assert not (tmp_path / "out").exists()


def test_nan_in_a_later_epoch_keeps_the_last_good_checkpoint(tmp_path, capsys, sources, monkeypatch):
    real, calls = engine.train_one_epoch, []

    def poisoned(model, loader, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            with torch.no_grad():
                model.fc.weight.fill_(float("nan"))
        return real(model, loader, *args, **kwargs)

    monkeypatch.setattr(engine, "train_one_epoch", poisoned)
    code, err = run_main(["train", "--data", sources["folder"], "--out", tmp_path, "--min-lr", "0.01", "--max-lr", "0.1",
                          "--workers", "0", *TINY_RUN], capsys)
    assert_one_error(code, err, "in epoch 2, batch 1 at LR", expected_code=3)
    assert "last good checkpoint (epoch 1)" in err
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"] == 1


def history(out: Path) -> list[dict]:
    with open(out / "history.csv") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def weights(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", weights_only=True)["model"]


PATHS = {"albumentations": ["--augment", "albumentations", "--workers", "0"],
         "albumentations, 2 workers": ["--augment", "albumentations", "--workers", "2"],
         "gpu": ["--augment", "gpu"]}


@pytest.fixture(scope="module")
def reference_runs(learnable, tmp_path_factory):
    """One uninterrupted run per data path, 3 epochs on 50 images of the learnable set, at LRs at which it learns."""
    runs = {}
    for name, flags in PATHS.items():
        out = tmp_path_factory.mktemp("ref")
        assert main(["train", "--data", str(learnable), "--out", str(out), "--min-lr", "0.02", "--max-lr", "0.2", "--epochs", "3",
                     "--peak-epoch", "1", "--batch-size", "25", "--subset", "50", "--device", "cpu", "--no-progress",
                     *flags]) == 0
        runs[name] = out
    return runs


@pytest.mark.parametrize("path", PATHS)
def test_same_seed_same_history(path, reference_runs, learnable, tmp_path):
    assert main(["train", "--data", str(learnable), "--out", str(tmp_path), "--min-lr", "0.02", "--max-lr", "0.2",
                 "--epochs", "3", "--peak-epoch", "1", "--batch-size", "25", "--subset", "50", "--device", "cpu",
                 "--no-progress", *PATHS[path]]) == 0
    assert (tmp_path / "history.csv").read_text().count("\n") == 4
    assert history(tmp_path) == history(reference_runs[path])
    losses = [float(row["train_loss"]) for row in history(tmp_path)]
    assert losses[-1] < losses[0]  # it learns at these LRs


@pytest.mark.parametrize("path", PATHS)
def test_interrupted_and_resumed_run_equals_the_uninterrupted_one(path, reference_runs, learnable, tmp_path,
                                                                   interrupt_in_epoch, capsys):
    interrupt_in_epoch(2)
    code, err = run_main(["train", "--data", learnable, "--out", tmp_path, "--min-lr", "0.02", "--max-lr", "0.2", "--epochs", "3",
                          "--peak-epoch", "1", "--batch-size", "25", "--subset", "50", "--device", "cpu", "--no-progress",
                          *PATHS[path]],
                         capsys)
    assert_one_error(code, err, f"holds epoch 1 of 3; continue it with: python -m s11lib train --resume {tmp_path}", 130)
    interrupt_in_epoch(None)
    assert main(["train", "--resume", str(tmp_path)]) == 0
    assert history(tmp_path) == history(reference_runs[path])
    want = weights(reference_runs[path])
    for k, v in weights(tmp_path).items():
        assert torch.equal(v, want[k]), k


def test_sigterm_saves_and_says_how_to_resume(sources, tmp_path):
    env = narrow_env({**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    proc = subprocess.Popen([sys.executable, "-m", "s11lib", "train", "--data", str(sources["folder"]), "--out", str(tmp_path),
                             "--min-lr", "0.01", "--max-lr", "0.1", "--epochs", "30", "--peak-epoch", "1",
                             "--batch-size", "25", "--workers", "0", "--device", "cpu", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + HANG
    while not (tmp_path / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == 130, err
    assert "continue it with: python -m s11lib train --resume" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("command", [["find-lr"], ["train", "--repeat", "2"]])
def test_find_lr_and_repeat_write_nothing_on_bad_data(command, tmp_path, capsys):
    code, err = run_main([*command, "--data", tmp_path / "nope", "--out", tmp_path / "out"], capsys)
    assert_one_error(code, err, "does not exist")
    assert not (tmp_path / "out").exists()


def test_finder_iters_is_not_read_when_both_lrs_are_given():
    assert Config(min_lr=0.01, max_lr=0.1, finder_iters=3).finder_iters == 3  # no range test runs
    with pytest.raises(ConfigError, match="finder-iters must be >= 5"):
        Config(max_lr=0.1, finder_iters=3)


@pytest.mark.parametrize("command", [["train", "--out", "FILE"], ["find-lr", "--out", "FILE"],
                                     ["gradcam", "--checkpoint", "NONE", "--out", "FILE"]])
def test_an_out_that_is_a_file_is_refused_before_torch_is_loaded(command, tmp_path):
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    args = [str(file) if a == "FILE" else a for a in command] + ["--data", str(tmp_path)]
    code = ("import sys; from s11lib.cli import main; code = main(sys.argv[1:]); "
            "print(code, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=HANG,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1


def test_ctrl_c_stops_the_suite_even_when_a_test_takes_it_as_the_clis_interrupt(tmp_path):
    """tests/ctrl_c.py: a real SIGINT ends pytest after the test it hit, though that test swallowed it."""
    (tmp_path / "test_swallow.py").write_text(
        "import pathlib, time\n"
        "def test_a_cli_that_takes_ctrl_c_as_its_own():\n"
        "    pathlib.Path('started').write_text('')\n"
        "    try:\n        time.sleep(120)\n"
        "    except KeyboardInterrupt:\n        pass  # as s11lib.cli.main does: exit 130, and the test goes on\n"
        "def test_after_it():\n    pathlib.Path('reached').write_text('')\n")
    tests = Path(__file__).resolve().parent
    suite = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "ctrl_c", "-p", "no:cacheprovider",
                              "test_swallow.py"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tests)},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while not (tmp_path / "started").exists() and suite.poll() is None:
        time.sleep(0.1)
    suite.send_signal(signal.SIGINT)
    out, _ = suite.communicate(timeout=HANG)
    assert suite.returncode == 130 and "Ctrl-C: the suite stops here" in out, out
    assert not (tmp_path / "reached").exists()


def test_a_finished_command_ignores_ctrl_c_through_the_exit_and_in_process_gives_it_back(learnable, tmp_path):
    """Once a command has written its last line, a Ctrl-C would land in the teardown (where the loader's
    workers stop) and print a traceback: ``python -m s11lib`` (``program=True``) leaves it ignored to the
    exit, while ``main`` called in-process gives the caller's handler back."""
    find_lr = ["find-lr", "--data", str(learnable), "--finder-iters", "5", "--batch-size", "25", "--workers", "0",
               "--device", "cpu", "--no-progress", "--out"]
    mine = signal.getsignal(signal.SIGINT)
    try:
        assert main([*find_lr, str(tmp_path / "program")], program=True) == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, mine)
    assert main([*find_lr, str(tmp_path / "in-process")]) == 0
    assert signal.getsignal(signal.SIGINT) is mine
