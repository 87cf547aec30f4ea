import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import HANG, LEARNABLE_RUN, NarrowResNet9
from s11lib.cli import main
from s11lib.model import count_parameters
from s11lib.outputs import TRAIN_OUTPUTS

FAST = ["--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0", "--device", "cpu",
        "--no-progress"]


def test_train_writes_every_output(trained):
    assert sorted(p.name for p in trained.iterdir()) == sorted(TRAIN_OUTPUTS)
    metrics = json.loads((trained / "metrics.json").read_text())
    for key in ("test_accuracy", "best_test_accuracy", "test_accuracy_tta", "train_accuracy", "epochs", "train_seconds",
                "min_lr", "max_lr", "params", "device", "data"):
        assert key in metrics, key
    assert metrics["params"] == count_parameters(NarrowResNet9()) and metrics["epochs"] == 2 and metrics["device"] == "cpu"
    assert metrics["min_lr"] < metrics["max_lr"]
    assert 0 <= metrics["test_accuracy_tta"] <= 100 and (metrics["test_accuracy_tta"] / 2.5).is_integer()  # of 40 images
    assert metrics["data"].startswith("ImageFolder")
    assert (trained / "history.csv").read_text().splitlines()[0] == "epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds"
    assert json.loads((trained / "config.json").read_text())["batch_size"] == 25


def test_given_lrs_skip_the_range_test(tmp_path, sources):
    assert main(["train", "--data", str(sources["pickled"]), "--out", str(tmp_path), "--min-lr", "0.01",
                 "--max-lr", "0.1", "--epochs", "2", "--peak-epoch", "1", "--batch-size", "50", "--workers", "0",
                 "--device", "cpu", "--no-progress", "--augment", "gpu"]) == 0
    assert not (tmp_path / "lr_finder.png").exists()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["min_lr"], metrics["max_lr"], metrics["augment"]) == (0.01, 0.1, "gpu")


def test_pages_schedule_trains_from_the_command_line_and_its_history_ends_at_zero(tmp_path, sources):
    """`--min-lr 0 --max-lr 0.4`: Page's schedule, recorded as given; the last epoch's LR (its last batch's) is 0."""
    assert main(["train", "--data", str(sources["pickled"]), "--out", str(tmp_path), "--min-lr", "0", "--max-lr", "0.4",
                 "--epochs", "2", "--peak-epoch", "1", "--batch-size", "50", "--workers", "0", "--device", "cpu",
                 "--no-progress", "--augment", "gpu"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["min_lr"], metrics["max_lr"], metrics["lr_rule"]) == (0.0, 0.4, None)
    rows = (tmp_path / "history.csv").read_text().splitlines()[1:]
    assert [float(r.split(",")[1]) for r in rows] == [0.4, 0.0]


def test_lr_from_trains_at_the_saved_range_tests_pair_as_a_run_that_finds_it(trained, learnable, tmp_path, capsys):
    """find-lr, then train --lr-from its folder: the run train makes with a range test of its own (conftest's
    `trained`), number for number, recorded as found, the range test's files beside it."""
    data = ["--data", str(learnable)]
    assert main(["find-lr", *data, "--out", str(tmp_path / "lr"), *LEARNABLE_RUN[:2], *LEARNABLE_RUN[6:]]) == 0
    capsys.readouterr()
    assert main(["train", *data, "--out", str(tmp_path / "run"), "--lr-from", str(tmp_path / "lr"), *LEARNABLE_RUN]) == 0
    out = capsys.readouterr().out
    assert f"the range test of {tmp_path / 'lr'}, read back (not run again): LRMIN" in out
    said = re.findall(r"LRMIN [\d.]+, LRMAX [\d.]+", out)
    assert len(said) == 2 and said[0] == said[1]  # read back, then the final report
    assert not re.search(r"LR range test \(\d+ batches", out)  # not said again as if run

    def metrics(folder):
        return {k: v for k, v in json.loads((folder / "metrics.json").read_text()).items()
                if "seconds" not in k and k != "starts"}

    def history(folder):  # each epoch's numbers, its seconds aside
        return [line.rsplit(",", 1)[0] for line in (folder / "history.csv").read_text().splitlines()]

    def finder(folder):
        return {k: v for k, v in json.loads((folder / "lr_finder.json").read_text()).items() if k != "seconds"}

    run = tmp_path / "run"
    assert metrics(run) == metrics(trained) and metrics(run)["lr_rule"] == "diverge"
    assert history(run) == history(trained)
    assert finder(run) == finder(tmp_path / "lr") == finder(trained)
    seconds = [json.loads((f / "lr_finder.json").read_text())["seconds"] for f in (run, tmp_path / "lr")]
    assert seconds[0] == seconds[1]  # the test read back, not run again
    assert sorted(p.name for p in run.iterdir()) == sorted(TRAIN_OUTPUTS)


@pytest.mark.parametrize("extra, message", [
    (["--subset", "50"], "ran with other settings (subset None there, 50 here): run find-lr with this run's settings"),
    (["--lr-rule", "valley", "--finder-iters", "9"], "(finder_iters 8 there, 9 here): run find-lr"),  # the rule reads any curve
    (["NOPE"], "holds no range test (config.json and lr_finder.json, as find-lr writes them)"),
    (["TAMPERED"], "reads otherwise with this version's rules (LRMAX 123 there"),
    (["DAMAGED"], "lr_finder.json cannot be read (JSONDecodeError"),
    (["--min-lr", "0.01", "--max-lr", "0.1"], "--min-lr and --max-lr give the whole pair: drop them, or --lr-from"),
    (["--repeat", "2"], "--lr-from reads one range test, of one seed; --repeat runs one for each seed"),
    (["--resume", "TRAINED"], "--resume continues a run with its own config; drop"),
], ids=["other subset", "other rule and batches", "no range test", "read otherwise", "damaged", "both LRs", "repeat", "resume"])
def test_lr_from_refuses_what_it_cannot_read_and_writes_nothing(trained, learnable, tmp_path, capsys, extra, message):
    lr_from = str(tmp_path / "nope") if extra == ["NOPE"] else str(trained)
    if extra == ["TAMPERED"]:  # a test whose recorded pair its curve no longer gives (as under other rules)
        lr_from = shutil.copytree(trained, tmp_path / "tampered")
        found = json.loads((lr_from / "lr_finder.json").read_text())
        (lr_from / "lr_finder.json").write_text(json.dumps({**found, "lr_max": 123}))
    if extra == ["DAMAGED"]:
        lr_from = shutil.copytree(trained, tmp_path / "damaged")
        (lr_from / "lr_finder.json").write_text('{"lr_min": 0.01, "tests": [')
    extra = [str(trained) if a == "TRAINED" else a for a in extra if a not in ("NOPE", "TAMPERED", "DAMAGED")]
    args = ["train", "--data", str(learnable), "--lr-from", str(lr_from), *LEARNABLE_RUN, *extra]
    if "--resume" not in extra:
        args += ["--out", str(tmp_path / "out")]
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_gradcam_from_a_checkpoint(trained, sources, tmp_path):
    out = tmp_path / "cam.png"
    assert main(["gradcam", "--checkpoint", str(trained / "checkpoint.pt"), "--data", str(sources["zip"]),
                 "--out", str(out), "--device", "cpu", "--gradcam-layer", "layer2"]) == 0
    assert out.stat().st_size > 0


def test_find_lr_prints_both_lrs(tmp_path, sources, capsys):
    assert main(["find-lr", "--data", str(sources["folder"]), "--out", str(tmp_path), "--finder-iters", "6",
                 "--batch-size", "25", "--workers", "0", "--device", "cpu", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert err.count("cannot be trusted") == 1, err  # random images: a flat curve, said once (it was said twice)
    saved = json.loads((tmp_path / "lr_finder.json").read_text())
    assert out.splitlines()[:2] == [f"LRMIN {saved['lr_min']:.4g}", f"LRMAX {saved['lr_max']:.4g}"]  # the pair it saved
    assert len(saved["tests"][0]["lrs"]) == len(saved["tests"][0]["losses"]) == 6 and saved["lr_min"] < saved["lr_max"]
    from PIL import Image

    with Image.open(tmp_path / "lr_finder.png") as png:
        assert png.format == "PNG" and min(png.size) > 100


def test_zigzag_and_summary(tmp_path, capsys):
    assert main(["zigzag", "--out", str(tmp_path / "z.png"), "--step-size", "10", "--cycles", "2"]) == 0
    assert (tmp_path / "z.png").exists()
    assert main(["summary"]) == 0
    assert "6,573,130" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/folder", "--out", "OUT"], "does not exist"),
    (["train", "--data", "x", "--out", "OUT", "--epochs", "3", "--peak-epoch", "3"], "peak-epoch"),
    (["train", "--data", "x", "--out", "OUT", "--min-lr", "0.5", "--max-lr", "0.1"], "min-lr"),
    (["train", "--data", "x", "--out", "OUT", "--batch-size", "0"], "batch-size must be > 0"),
])
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, args, message):
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    done = subprocess.run([sys.executable, "-m", "s11lib", *args], capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in done.stderr


def test_unknown_flag_is_refused():
    with pytest.raises(SystemExit) as e:
        main(["train", "--out", "x", "--epoch", "3"])
    assert e.value.code == 2


def test_repeat_trains_each_seed_and_reports_the_spread(tmp_path, sources):
    assert main(["train", "--data", str(sources["pickled"]), "--out", str(tmp_path), "--repeat", "2", "--seed", "7",
                 "--min-lr", "0.01", "--max-lr", "0.1", "--augment", "gpu", "--subset", "20", *FAST[:6], *FAST[8:]]) == 0
    summary = json.loads((tmp_path / "repeats.json").read_text())
    assert summary["seeds"] == [7, 8]
    runs = [json.loads((tmp_path / f"seed-{s}" / "metrics.json").read_text()) for s in (7, 8)]
    assert summary["test_accuracy"] == [m["test_accuracy"] for m in runs]
    assert summary["median"] == pytest.approx(sum(summary["test_accuracy"]) / 2)
    assert summary["test_accuracy_tta"] == [m["test_accuracy_tta"] for m in runs]
    assert summary["median_tta"] == pytest.approx(sum(summary["test_accuracy_tta"]) / 2)


def test_lr_from_with_another_rule_reads_the_saved_curve_with_it(trained, learnable, tmp_path, capsys, monkeypatch):
    """--lr-rule valley with --lr-from a test read by diverge: no range test runs; the pair is valley's reading of
    the saved curve, and the record says which rule read it and from where."""
    from s11lib import lr_rules, range_tests

    monkeypatch.setattr(range_tests, "find_lrs", lambda *a, **k: pytest.fail("the range test ran again"))
    saved = json.loads((trained / "lr_finder.json").read_text())
    valley = lr_rules.read_curve(saved["tests"][0]["lrs"], saved["tests"][0]["losses"], "valley")
    args = ["train", "--data", str(learnable), "--out", str(tmp_path / "run"), "--lr-from", str(trained),
            *LEARNABLE_RUN, "--lr-rule", "valley"]
    assert valley.trusted and main(args) == 0  # valley reads the learnable data's curve (LRMAX 0.0139)
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (m["lr_rule"], m["min_lr"], m["max_lr"]) == ("valley", valley.lr_min, valley.lr_max)
    assert m["lr_finder_note"].endswith(f"(the valley rule, read from the saved curve of {trained}, which the diverge "
                                        "rule had read)")
