"""The figures of a run, each drawn and titled here once, for the CLI and the notebook alike.

``plots`` draws what it is given; this module says what each figure of a run is made of:
``FIGURES[name](state, fitted, results)`` for the figures of a trained run, ``lr_figure`` for the
range test, ``augmented_figure`` for the training samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import plots
from .augment import augmented_samples
from .config import Config
from .lr_rules import LRSearch

if TYPE_CHECKING:
    from .run import Results, State


def lr_figure(search: LRSearch):
    """One range test's curve with its picks, or every seed's curve with the median pair."""
    if len(search.tests) == 1:
        t = search.tests[0]
        return plots.lr_range(t.lrs, t.losses, t.smoothed, t.lr_min, t.lr_max, trusted=search.trusted)
    return plots.lr_ranges([(t.seed, t.lrs, t.smoothed, t.lr_min, t.lr_max) for t in search.tests],
                           search.lr_min, search.lr_max, trusted=search.trusted)


def augmented_figure(state: State):
    return plots.augmented(*augmented_samples(state.data.train, cutout=state.cfg.cutout, seed=state.cfg.seed))


def order(cfg: Config) -> str:
    return "the worst of each class in turn" if cfg.misclassified_by_class else "highest loss first"


def _misclassified(state: State, results: Results, images: np.ndarray, title: str):
    mis = results.mistakes
    return plots.misclassified(images, mis.labels, mis.preds, mis.probs, title=f"{title}, {order(state.cfg)}")


SCHEDULE_TITLES = {"one-cycle": "One cycle: LR per batch", "step": "Step schedule (He et al.): LR per batch",
                   "constant": "Constant LR per batch"}
CURVE_FIGURES = ("lr_schedule.png", "accuracy.png", "loss.png")  # what a sweep's point draws (train_job's light)
LEGACY_FIGURES = {"one_cycle.png": "lr_schedule.png"}  # old name -> new: a resumed older run keeps one copy
GRADCAM_FIGURES = ("gradcam.png", "gradcam_pairs.png")  # drawn from ``explain``'s maps, the last step
FIGURES = {  # name -> draw(state, fitted, results); the figures of a trained run, in the order they are written
    "lr_schedule.png": lambda s, f, r: plots.one_cycle(f["lrs"], len(s.train_loader), lr_min=f["lr_min"],
                                                     lr_max=f["lr_max"], title=SCHEDULE_TITLES[s.cfg.schedule]),
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
