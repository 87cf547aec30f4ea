"""The job's steps (steps, range_tests, gradcam, training): what each one feeds the next, and the run that
refuses to train."""

import json

import numpy as np
import pytest

from s11lib import checkpoint, figures, gradcam, plots, range_tests, steps, training, voice
from s11lib.cli import main
from s11lib.config import Config
from s11lib.lr_rules import LRSearch, read_curve

FAST = ["--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0", "--device", "cpu",
        "--no-progress"]


@pytest.fixture
def state(sources):
    return steps.prepare(Config(data=str(sources["folder"]), batch_size=20, workers=0, device="cpu", progress=False))


def wrong_outputs(labels: np.ndarray) -> dict:
    """Every test image predicted as the next class, the later ones more confidently wrong."""
    n = len(labels)
    return {"preds": (labels + 1) % 10, "probs": np.linspace(0.2, 0.9, n), "losses": np.linspace(1.0, 3.0, n)}


def test_the_range_test_reads_the_training_loader_never_the_test_loader(state):
    """A real range test on the state: each point of its curve is a training batch, and the test loader is never read."""
    import dataclasses

    from s11lib.config import MIN_FINDER_ITERS

    read = []

    class Watched:  # the training loader, counting the batches it hands out
        def __init__(self, loader):
            self.loader = loader

        def __len__(self):
            return len(self.loader)

        def __iter__(self):
            for batch in self.loader:
                read.append(len(batch[1]))
                yield batch

    class Untouchable:
        def __len__(self):
            return 1

        def __iter__(self):
            raise AssertionError("the range test read the test loader")

    watched = dataclasses.replace(state, cfg=dataclasses.replace(state.cfg, finder_iters=MIN_FINDER_ITERS),
                                  train_loader=Watched(state.train_loader), test_loader=Untouchable())
    search = range_tests.search_lrs(watched)
    assert len(read) == len(search.tests[0].lrs) > 0 and set(read) == {state.cfg.batch_size}


def test_the_true_class_maps_come_from_the_true_classes(state, monkeypatch):
    calls, drawn = [], {}
    real_gradcam = gradcam.gradcam
    monkeypatch.setattr(gradcam, "gradcam", lambda model, images, classes, device, layer: calls.append(
        np.asarray(classes).tolist()) or real_gradcam(model, images, classes, device, layer=layer))
    labels = state.data.test.labels
    results = gradcam.explain(state, steps.analyse(state, {"test_outputs": wrong_outputs(labels)}))
    mis = results.mistakes
    assert calls == [mis.preds.tolist(), mis.labels.tolist()] and mis.preds.tolist() != mis.labels.tolist()
    monkeypatch.setattr(plots, "gradcam_pairs", lambda predicted, true, *a, **k: drawn.update(
        predicted=predicted, true=true))
    figures.FIGURES["gradcam_pairs.png"](state, None, results)
    assert drawn["predicted"] is results.cams["predicted"] and drawn["true"] is results.cams["true"]


def test_the_worst_mistakes_come_first(state):
    labels = state.data.test.labels
    mis = steps.analyse(state, {"test_outputs": wrong_outputs(labels)}).mistakes
    assert list(mis.losses) == sorted(mis.losses, reverse=True)


def test_train_refuses_an_untrusted_range_test_and_leaves_nothing(sources, tmp_path, capsys, monkeypatch):
    """Random images: the loss never falls, the curve says nothing, so nothing is trained."""
    trained = []
    monkeypatch.setattr(training, "fit", lambda *a, **k: trained.append(1))
    out = tmp_path / "out"
    code = main(["train", "--data", str(sources["folder"]), "--out", str(out), "--finder-iters", "8", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and trained == []
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the LR range test cannot be trusted (the loss only rose (fell 0.0% at most)" in errors[0]
    assert "--min-lr and --max-lr" in errors[0]
    assert not out.exists()  # the same command can run again, or with the LRs given


def test_choose_lrs_names_the_notebooks_knob_in_the_notebook():
    flat = read_curve(np.logspace(-4, 1, 40), np.full(40, 2.3))
    search = LRSearch((flat,), flat.lr_min, flat.lr_max, False, flat.note, flat.warnings)
    voice.use(voice.NOTEBOOK)
    try:
        with pytest.raises(range_tests.UntrustedLRs, match="nothing was trained: set LR_MIN, LR_MAX in the cell after the range "
                                                   "test and run on from there"):
            range_tests.choose_lrs(Config(), search)
        with voice.speaking(voice.PYTHON), pytest.raises(range_tests.UntrustedLRs, match="pass min_lr and max_lr"):
            range_tests.choose_lrs(Config(), search)  # s11lib.train() in a notebook speaks Python
    finally:
        voice.use(voice.CLI)
    assert range_tests.choose_lrs(Config(min_lr=0.004, max_lr=0.4), search) == (0.004, 0.4)  # given LRs need no range test


def test_find_lr_repeat_runs_each_seed_and_takes_the_median(learnable, tmp_path, capsys):
    out = tmp_path / "lr"
    assert main(["find-lr", "--data", str(learnable), "--out", str(out), "--repeat", "3", "--finder-iters", "8",
                 "--batch-size", "25", "--workers", "0", "--device", "cpu", "--no-progress"]) == 0
    saved = json.loads((out / "lr_finder.json").read_text())
    assert [t["seed"] for t in saved["tests"]] == [1, 2, 3]
    maxes = sorted(t["lr_max"] for t in saved["tests"])
    assert saved["lr_max"] == pytest.approx(maxes[1]) and "median of 3 range tests" in saved["note"]
    assert len({tuple(t["losses"]) for t in saved["tests"]}) == 3  # three seeds, three curves
    assert "LRMAX" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["true", "both"])
def test_the_gradcam_command_draws_the_true_class_maps_from_the_true_classes(sources, tmp_path, monkeypatch, target):
    """``gradcam --target true|both`` (gradcam.gradcam_job): the true-class maps target the true classes."""
    from s11lib.datasets import load_cifar10
    from s11lib.mistakes import find_misclassified

    test = load_cifar10(str(sources["folder"])).test
    outputs = wrong_outputs(test.labels)
    calls = []
    real_gradcam = gradcam.gradcam
    monkeypatch.setattr(checkpoint, "load_weights", lambda *a: None)
    monkeypatch.setattr(gradcam, "evaluate", lambda *a, **k: {"outputs": outputs})
    monkeypatch.setattr(gradcam, "gradcam", lambda model, images, classes, device, layer: calls.append(
        np.asarray(classes).tolist()) or real_gradcam(model, images, classes, device, layer=layer))
    cfg = Config(data=str(sources["folder"]), device="cpu", workers=0)
    gradcam.gradcam_job(cfg, {}, tmp_path / "checkpoint.pt", tmp_path / "cam.png", layer="layer3", target=target)
    mis = find_misclassified(test, outputs)
    expected = [mis.labels.tolist()] if target == "true" else [mis.preds.tolist(), mis.labels.tolist()]
    assert calls == expected and mis.preds.tolist() != mis.labels.tolist()
