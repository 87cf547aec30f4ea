"""Every failure says the truth in one line and leaves a way on; nothing hurts the machine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from s11lib import figures, range_tests, training
from s11lib.cli import build_parser, main
from s11lib.config import ConfigError
from s11lib.engine import Diverging
from s11lib.outputs import RunFolder
from s11lib.schedule import zigzag_corners, zigzag_lr

pytestmark = pytest.mark.xdist_group("dead-ends")  # its module fixture's runs: made once, in one test process

TINY = ["--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0", "--device", "cpu", "--no-progress"]


def one_error(code, err: str, message: str, expected: int = 2) -> None:
    assert code == expected, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err and "usage:" not in err


@pytest.fixture
def cli(capsys):
    """``python -m s11lib ARGS`` in this process (no interpreter start per call): (exit status, stderr)."""
    def call(*args) -> tuple[int, str]:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's errors, as python -m s11lib exits with them
            code = e.code
        return code, capsys.readouterr().err
    return call


# 1. the zigzag draws its corners: memory grows with the cycles, not the iterations
def test_a_huge_zigzag_is_its_corners():
    it, _ = zigzag_corners(lr_min=0.001, lr_max=0.1, step_size=10**6, cycles=3)
    assert len(it) == 7  # the corners alone: a dense curve would hold 6,000,001 points here (600,000,001 below)
    it, lrs = zigzag_corners(lr_min=0.001, lr_max=0.1, step_size=100_000_000, cycles=3)
    assert it.tolist() == [0, 10**8, 2 * 10**8, 3 * 10**8, 4 * 10**8, 5 * 10**8, 6 * 10**8]
    np.testing.assert_allclose(lrs, [0.001, 0.1] * 3 + [0.001])
    np.testing.assert_allclose(lrs, zigzag_lr(it, lr_min=0.001, lr_max=0.1, step_size=100_000_000))


def test_the_zigzag_command_with_a_huge_step_size_is_quick(tmp_path, cli):
    code, err = cli("zigzag", "--out", tmp_path / "z.png", "--step-size", "100000000", "--cycles", "3")
    assert code == 0 and (tmp_path / "z.png").stat().st_size > 0, err


# 2. fp16 on the CPU
def test_fp16_on_the_cpu_is_refused_with_the_reason(tmp_path, sources, capsys):
    code = main(["train", "--data", str(sources["folder"]), "--out", str(tmp_path / "o"), "--precision", "fp16",
                 "--min-lr", "0.01", "--max-lr", "0.1", *TINY])
    one_error(code, capsys.readouterr().err, "precision fp16 on the CPU has no fast kernels")
    assert not (tmp_path / "o").exists()


# 3. a run that fails after it started leaves nothing, so the same command can run again
def test_a_found_lrmax_below_the_given_min_lr_leaves_nothing(tmp_path, learnable, capsys):
    args = ["train", "--data", str(learnable), "--out", str(tmp_path / "o"), "--min-lr", "5", "--finder-iters", "8", *TINY]
    for _ in range(2):  # the second time meets the same error, not "already holds a run"
        one_error(main(args), capsys.readouterr().err, "not above the given min-lr 5")
        assert not (tmp_path / "o").exists()


def test_ctrl_c_during_the_range_test_leaves_nothing(tmp_path, learnable, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(range_tests, "find_lrs", interrupted)
    (tmp_path / "o").mkdir()  # a folder the user made: kept, emptied of this run's files
    code = main(["train", "--data", str(learnable), "--out", str(tmp_path / "o"), "--finder-iters", "8", *TINY])
    one_error(code, capsys.readouterr().err, "interrupted while running the LR range test", expected=130)
    assert list((tmp_path / "o").iterdir()) == []


# 4, 5. figure names and values
@pytest.mark.parametrize("args, message", [
    (["gradcam", "--checkpoint", "CKPT", "--out", "OUT/g.txt"], "must end in .png"),
    (["gradcam", "--checkpoint", "CKPT", "--out", "OUT/g45"], "must end in .png"),
    (["zigzag", "--out", "OUT/z.txt"], "must end in .png"),
    (["zigzag", "--out", "OUT/z.png", "--lr-max", "inf"], "must be a finite number"),
    (["zigzag", "--out", "OUT/z.png", "--cycles", "100000"], "cycles between 1 and 10,000"),
])
def test_figure_names_and_values_are_checked_before_any_work(args, message, tmp_path, cli_checkpoint, cli):
    args = [str(cli_checkpoint) if a == "CKPT" else a.replace("OUT", str(tmp_path)) for a in args]
    code, err = cli(*args)
    one_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def cli_checkpoint(tmp_path_factory, sources):
    out = tmp_path_factory.mktemp("ckpt")
    assert main(["train", "--data", str(sources["folder"]), "--out", str(out), "--min-lr", "0.01", "--max-lr", "0.1",
                 *TINY]) == 0
    return out / "checkpoint.pt"


# 6. find-lr takes only what a range test depends on, and keeps a folder's run safe
@pytest.mark.parametrize("flag", ["--min-lr", "--max-lr", "--epochs", "--peak-epoch"])
def test_find_lr_refuses_training_flags(flag, capsys):
    with pytest.raises(SystemExit) as e:
        main(["find-lr", "--out", "x", flag, "3"])
    assert e.value.code == 2
    assert f"python -m s11lib find-lr: unrecognized arguments: {flag} 3" in capsys.readouterr().err


def test_find_lr_never_overwrites_a_train_run_or_an_earlier_range_test(tmp_path, learnable, cli_checkpoint, capsys):
    run_dir = cli_checkpoint.parent
    before = sorted(p.name for p in run_dir.iterdir())
    args = ["find-lr", "--data", str(learnable), "--finder-iters", "8", "--batch-size", "25", "--workers", "0",
            "--device", "cpu", "--no-progress", "--out"]
    one_error(main([*args, str(run_dir)]), capsys.readouterr().err, "holds a finished train run (metrics.json)")
    assert sorted(p.name for p in run_dir.iterdir()) == before
    assert main([*args, str(tmp_path / "lr")]) == 0
    one_error(main([*args, str(tmp_path / "lr")]), capsys.readouterr().err, "--overwrite")
    assert main([*args, str(tmp_path / "lr"), "--overwrite"]) == 0


# 7. --repeat: --overwrite leaves no stale seed; an interrupted repeat goes on when run again
def test_repeat_overwrite_removes_the_seeds_it_no_longer_trains(tmp_path, sources):
    args = ["train", "--data", str(sources["folder"]), "--out", str(tmp_path), "--min-lr", "0.01", "--max-lr", "0.1",
            "--subset", "20", "--augment", "gpu", *TINY]
    assert main([*args, "--repeat", "2"]) == 0
    assert main([*args, "--repeat", "1", "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["seed-1"]
    assert json.loads((tmp_path / "repeats.json").read_text())["seeds"] == [1]


def test_an_interrupted_repeat_goes_on_where_it_stopped(tmp_path, sources, interrupt_in_epoch, capsys):
    args = ["train", "--data", str(sources["folder"]), "--out", str(tmp_path), "--min-lr", "0.01", "--max-lr", "0.1",
            "--subset", "20", "--augment", "gpu", "--repeat", "2", *TINY]
    interrupt_in_epoch(4)  # seed 1: epochs 1, 2; seed 2: epoch 1, then Ctrl-C in epoch 2
    assert main(args) == 130
    assert not (tmp_path / "repeats.json").exists()
    interrupt_in_epoch(None)
    first = (tmp_path / "seed-1" / "metrics.json").read_text()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "seed 1: kept the finished run" in out and "resuming after epoch 1 of 2" in out
    assert (tmp_path / "seed-1" / "metrics.json").read_text() == first
    assert json.loads((tmp_path / "repeats.json").read_text())["seeds"] == [1, 2]


# 8. the notebook's words in the notebook
def test_each_place_gets_its_own_words_for_the_same_advice():
    """The same hint in the command line's flags, Python's keywords and the notebook's variables and cells;
    no flag where the reader has none."""
    from s11lib import voice
    from s11lib.config import Config, ConfigError, validate
    from s11lib.lr_rules import trust_hint

    said = {}
    for where in (voice.CLI, voice.PYTHON, voice.NOTEBOOK):
        with voice.speaking(where):
            with pytest.raises(ConfigError) as e:
                validate(Config(epochs=1))
            said[where] = (trust_hint(), str(e.value), voice.say("no data"), voice.say("resume", out="runs/a"))
    assert said[voice.CLI][0].startswith("give the pair yourself with --min-lr and --max-lr (0.004 and 0.4")
    assert said[voice.CLI][1].endswith("so the shortest run is --epochs 2 --peak-epoch 1")
    assert said[voice.PYTHON][1].endswith("so the shortest run is epochs=2 peak_epoch=1")
    assert said[voice.NOTEBOOK][0].startswith("give the pair yourself: LR_MIN, LR_MAX in the cell after the range test")
    assert said[voice.NOTEBOOK][2].startswith("set S11_DATA") and said[voice.NOTEBOOK][3] == \
        "rerun the training cell to continue it"
    for where in (voice.PYTHON, voice.NOTEBOOK):
        assert not [s for s in said[where] if "--" in s.replace("python -m s11lib train --resume", "")], said[where]


# 9, 10. one line for every error
@pytest.mark.parametrize("args, message", [
    (["train", "--out", "x", "--batch-size", "abc"], "python -m s11lib train: argument --batch-size: invalid int value"),
    (["train", "--out", "x", "--epoch", "3"], "python -m s11lib train: unrecognized arguments: --epoch 3"),
    (["train", "--resume", "DIR", "--out", "x"], "python -m s11lib train: --resume continues a run with its own config"),
    (["train", "--epochs", "3"], "python -m s11lib train: train needs --out DIR"),
    (["train", "--out", "OUT", "--epochs", "1"], "the shortest run is --epochs 2 --peak-epoch 1"),
    (["sweep", "--out", "OUT", "--max-lr", "abc"], "python -m s11lib sweep: argument --max-lr: must be a number, got 'abc'"),
])
def test_flag_errors_are_one_line_of_the_command_they_belong_to(args, message, tmp_path, cli):
    code, err = cli(*[str(tmp_path) if a == "DIR" else str(tmp_path / "o") if a == "OUT" else a for a in args])
    one_error(code, err, message)


def test_bad_archives_and_images_are_one_honest_line(tmp_path, sources, cli):
    (tmp_path / "fake.tar.gz").write_text("not an archive\n")
    code, err = cli("train", "--data", tmp_path / "fake.tar.gz", "--out", tmp_path / "o", "--min-lr", "0.01",
                    "--max-lr", "0.1", *TINY)
    one_error(code, err, "cannot read archive")
    data = Path(shutil.copytree(sources["folder"], tmp_path / "data"))
    (data / "train" / "dog" / "0005.png").write_bytes(b"\xff\xd8 not a jpeg")
    code, err = cli("train", "--data", data, "--out", tmp_path / "o", "--min-lr", "0.01", "--max-lr", "0.1", *TINY)
    one_error(code, err, "0005.png cannot be decoded as an image")
    assert "BytesIO" not in err and "0x" not in err


@pytest.mark.parametrize("data_dir, message", [("/proc/cifar", "cannot write into --data-dir /proc/cifar"),
                                               ("FILE", "is a file; name a writable folder to download CIFAR-10 into")])
def test_a_bad_data_dir_is_named_not_blamed_on_the_internet(data_dir, message, tmp_path, cli):
    (tmp_path / "file").write_text("x")
    code, err = cli("train", "--data-dir", tmp_path / "file" if data_dir == "FILE" else data_dir, "--out",
                    tmp_path / "o", "--min-lr", "0.01", "--max-lr", "0.1", *TINY)
    one_error(code, err, message)
    assert "internet" not in err


# 12. the checkpoint a diverged run names holds its last healthy epoch (a diverged epoch is never kept)
def test_a_diverged_run_names_its_last_good_checkpoint(tmp_path):
    folder, e = RunFolder(tmp_path), Diverging("the test loss became NaN or infinite in epoch 2", 2)
    said = training.diverged_message(e, folder, {"epoch": 1})
    assert said == (f"the test loss became NaN or infinite in epoch 2; the last good checkpoint (epoch 1) is "
                    f"{tmp_path / 'checkpoint.pt'}. Try a lower --max-lr")
    assert "no epoch finished, so there is no checkpoint" in training.diverged_message(e, folder, {"epoch": 0})


# 13. "highest loss first", as the order really is
def test_mistakes_are_called_what_they_are_sorted_by():
    """The misclassified figures' titles name the order their images are in: by loss, or class by class."""
    from s11lib import config
    from s11lib.datasets import Split
    from s11lib.mistakes import find_misclassified

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 6)
    test = Split(np.zeros((60, 32, 32, 3), np.uint8), labels)
    outputs = {"preds": (labels + 1) % 10, "probs": rng.random(60), "losses": rng.random(60)}  # all wrong

    def by_loss(mis):
        return list(mis.losses) == sorted(mis.losses, reverse=True)

    def class_by_class(mis):  # the worst of each class, then the second worst of each, ...
        firsts = mis.labels[:10]
        return sorted(firsts) == list(range(10)) and all(
            list(mis.losses[mis.labels == c]) == sorted(mis.losses[mis.labels == c], reverse=True) for c in range(10))

    holds = {"highest loss first": by_loss, "the worst of each class in turn": class_by_class}
    for by_class in (False, True):
        cfg = config.Config(misclassified_by_class=by_class)
        mis = find_misclassified(test, outputs, spread=cfg.misclassified_by_class)
        assert holds[figures.order(cfg)](mis), figures.order(cfg)
        assert not holds["highest loss first" if by_class else "the worst of each class in turn"](mis)


# 14. help
def test_every_flag_has_help_and_the_zigzag_shows_its_defaults():
    parser = build_parser()
    commands = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict)).choices
    for name in ("train", "find-lr"):
        for action in commands[name]._actions:
            if action.option_strings and action.dest != "help":
                assert action.help and not action.help.startswith("(default"), (name, action.option_strings)
    zigzag = commands["zigzag"].format_help()
    assert "(default: 0.001)" in zigzag and "(default: 500)" in zigzag and "(default: None)" not in zigzag
    assert "`" not in parser.format_help()


def test_validation_of_one_epoch_names_the_shortest_run():
    from s11lib.config import Config

    with pytest.raises(ConfigError, match="--epochs 2 --peak-epoch 1"):
        Config(epochs=1)
