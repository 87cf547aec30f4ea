"""The job's steps (s11lib.run): what each one feeds the next, and the run that refuses to train."""

import json

import numpy as np
import pytest

from s11lib import figures, run, voice
from s11lib.cli import main
from s11lib.config import Config
from s11lib.lr_rules import LRSearch, read_curve

FAST = ["--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0", "--device", "cpu",
        "--no-progress"]


@pytest.fixture
def state(sources):
    return run.prepare(Config(data=str(sources["folder"]), batch_size=20, workers=0, device="cpu", progress=False))


def wrong_outputs(labels: np.ndarray) -> dict:
    """Every test image predicted as the next class, the later ones more confidently wrong."""
    n = len(labels)
    return {"preds": (labels + 1) % 10, "probs": np.linspace(0.2, 0.9, n), "losses": np.linspace(1.0, 3.0, n)}


def test_the_range_test_reads_the_training_loader_never_the_test_loader(state, monkeypatch):
    seen = []
    monkeypatch.setattr(run, "run_range_tests", lambda model, cfg, loader, device: seen.append(loader) or LRSearch(
        (), 0.01, 0.1, True, "", ()))
    run.find_lrs(state)
    assert seen == [state.train_loader] and seen[0] is not state.test_loader


def test_the_true_class_maps_come_from_the_true_classes(state, monkeypatch):
    calls, drawn = [], {}
    real_gradcam = run.gradcam
    monkeypatch.setattr(run, "gradcam", lambda model, images, classes, device, layer: calls.append(
        np.asarray(classes).tolist()) or real_gradcam(model, images, classes, device, layer=layer))
    labels = state.data.test.labels
    results = run.explain(state, run.analyse(state, {"test_outputs": wrong_outputs(labels)}))
    mis = results.mistakes
    assert calls == [mis.preds.tolist(), mis.labels.tolist()] and mis.preds.tolist() != mis.labels.tolist()
    monkeypatch.setattr(run.plots, "gradcam_pairs", lambda predicted, true, *a, **k: drawn.update(
        predicted=predicted, true=true))
    figures.FIGURES["gradcam_pairs.png"](state, None, results)
    assert drawn["predicted"] is results.cams["predicted"] and drawn["true"] is results.cams["true"]


def test_the_worst_mistakes_come_first(state):
    labels = state.data.test.labels
    mis = run.analyse(state, {"test_outputs": wrong_outputs(labels)}).mistakes
    assert list(mis.losses) == sorted(mis.losses, reverse=True)


def test_train_refuses_an_untrusted_range_test_and_leaves_nothing(sources, tmp_path, capsys, monkeypatch):
    """Random images: the loss never falls, the curve says nothing, so nothing is trained."""
    trained = []
    monkeypatch.setattr(run, "fit", lambda *a, **k: trained.append(1))
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
        with pytest.raises(run.UntrustedLRs, match="nothing was trained: set LR_MIN, LR_MAX in the cell after the range "
                                                   "test and run on from there"):
            run.choose_lrs(Config(), search)
        with voice.speaking(voice.PYTHON), pytest.raises(run.UntrustedLRs, match="pass min_lr and max_lr"):
            run.choose_lrs(Config(), search)  # s11lib.train() in a notebook speaks Python
    finally:
        voice.use(voice.CLI)
    assert run.choose_lrs(Config(min_lr=0.004, max_lr=0.4), search) == (0.004, 0.4)  # given LRs need no range test


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
    """``gradcam --target true|both`` (run.gradcam_job): the true-class maps target the true classes."""
    from s11lib.datasets import load_cifar10
    from s11lib.mistakes import find_misclassified

    test = load_cifar10(str(sources["folder"])).test
    outputs = wrong_outputs(test.labels)
    calls = []
    real_gradcam = run.gradcam
    monkeypatch.setattr(run.checkpoint, "load_weights", lambda *a: None)
    monkeypatch.setattr(run, "evaluate", lambda *a, **k: {"outputs": outputs})
    monkeypatch.setattr(run, "gradcam", lambda model, images, classes, device, layer: calls.append(
        np.asarray(classes).tolist()) or real_gradcam(model, images, classes, device, layer=layer))
    cfg = Config(data=str(sources["folder"]), device="cpu", workers=0)
    run.gradcam_job(cfg, {}, tmp_path / "checkpoint.pt", tmp_path / "cam.png", layer="layer3", target=target)
    mis = find_misclassified(test, outputs)
    expected = [mis.labels.tolist()] if target == "true" else [mis.preds.tolist(), mis.labels.tolist()]
    assert calls == expected and mis.preds.tolist() != mis.labels.tolist()
