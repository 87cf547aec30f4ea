"""The figures of a run, each drawn and titled here once, for the CLI and the notebook alike.

``plots`` draws what it is given; this module says what each figure of a run is made of:
``FIGURES[name](state, fitted, results)`` for the figures of a trained run, ``lr_figure`` for the
range test, ``augmented_figure`` for the training samples.
"""

from __future__ import annotations

import numpy as np

from . import plots
from .augment import augmented_samples
from .config import Config
from .lr_rules import LRSearch
from .steps import Results, State


def lr_figure(search: LRSearch):
    """One range test's curve with its picks, or every seed's curve with the median pair."""
    if len(search.tests) == 1:
        t = search.tests[0]
        return plots.lr_range(t.lrs, t.losses, t.smoothed, t.lr_min, t.lr_max, trusted=search.trusted)
    return plots.lr_ranges([(t.seed, t.lrs, t.smoothed, t.lr_min, t.lr_max) for t in search.tests],
                           search.lr_min, search.lr_max, trusted=search.trusted)


def lr_source(lr_rule: str | None) -> str:
    """Where a run's pair came from, as its figures and lines say it (``lr_rule`` None: the pair was given)."""
    return f"found by the LR range test ({lr_rule} rule)" if lr_rule else "given"


def schedule_title(cfg: Config, lr_min: float, lr_max: float, source: str, what: str = "LR per batch") -> str:
    """A schedule figure's title: the schedule, then the pair and where it came from (found or given)."""
    return f"{SCHEDULE_NAMES[cfg.schedule]}: {what}\nLRMIN {lr_min:.3g}, LRMAX {lr_max:.3g}, {source}"


def planned_cycle(cfg: Config, steps_per_epoch: int, lr_min: float, lr_max: float, source: str):
    """The schedule a run of ``cfg`` at this pair will follow, batch by batch, before it trains."""
    from .schedule import lr_at

    lrs = [lr_at(cfg.schedule, i, epochs=cfg.epochs, steps_per_epoch=steps_per_epoch, peak_epoch=cfg.peak,
                 lr_min=lr_min, lr_max=lr_max) for i in range(cfg.epochs * steps_per_epoch)]
    return plots.one_cycle(lrs, steps_per_epoch, lr_min=lr_min, lr_max=lr_max,
                           title=schedule_title(cfg, lr_min, lr_max, source, "the planned LR per batch"))


def augmented_figure(state: State):
    return plots.augmented(*augmented_samples(state.data.train, cutout=state.cfg.cutout, seed=state.cfg.seed))


def order(cfg: Config) -> str:
    return "the worst of each class in turn" if cfg.misclassified_by_class else "highest loss first"


def _misclassified(state: State, results: Results, images: np.ndarray, title: str):
    mis = results.mistakes
    return plots.misclassified(images, mis.labels, mis.preds, mis.probs, title=f"{title}, {order(state.cfg)}")


SCHEDULE_NAMES = {"one-cycle": "One cycle", "step": "Step schedule (He et al.)", "constant": "Constant LR"}
CURVE_FIGURES = ("lr_schedule.png", "accuracy.png", "loss.png")  # what a sweep's point draws (train_job's curves_only)
GRADCAM_FIGURES = ("gradcam.png", "gradcam_pairs.png")  # drawn from ``explain``'s maps, the last step
FIGURES = {  # name -> draw(state, fitted, results); the figures of a trained run, in the order they are written
    "lr_schedule.png": lambda s, f, r: plots.one_cycle(
        f["lrs"], len(s.train_loader), lr_min=f["lr_min"], lr_max=f["lr_max"],
        title=schedule_title(s.cfg, f["lr_min"], f["lr_max"], lr_source(s.lr_finder["rule"] if s.lr_finder else None))),
    "accuracy.png": lambda s, f, r: plots.accuracy(f["history"]),
    "loss.png": lambda s, f, r: plots.loss(f["history"]),
    "confusion.png": lambda s, f, r: plots.confusion(r.confusion),
    "misclassified.png": lambda s, f, r: _misclassified(s, r, r.mistakes.images, "Misclassified test images"),
    "gradcam.png": lambda s, f, r: _misclassified(s, r, r.cams["predicted"],
                                                  f"GradCAM ({s.cfg.gradcam_layer}) for the predicted class"),
    "gradcam_pairs.png": lambda s, f, r: plots.gradcam_pairs(r.cams["predicted"], r.cams["true"], r.mistakes.labels,
                                                             r.mistakes.preds, r.mistakes.probs,
                                                             layer=s.cfg.gradcam_layer),
}
