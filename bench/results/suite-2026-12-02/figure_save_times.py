"""The seconds plots.save's savefig takes for each figure of a train run, drawn from random stand-ins:
    python bench/results/suite-2026-12-02/figure_save_times.py ROOT
ROOT: a checkout whose s11lib to time (RESULTS section 17 ran it on a copy of d95215d and on 6aaa3a7).
Each figure saved to memory at 120 dpi, with the tight box plots.save uses and without."""
import io
import sys
import time

sys.path.insert(0, sys.argv[1])
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from s11lib import plots  # noqa: E402

rng = np.random.default_rng(0)
imgs = rng.integers(0, 256, (25, 32, 32, 3), dtype=np.uint8)
lab = rng.integers(0, 10, 25)
pred, prob = (lab + 1) % 10, rng.random(25)
hist = [{"epoch": e, "train_acc": 10 + e, "test_acc": 12 + e, "train_loss": 2 - e / 10, "test_loss": 2 - e / 12,
         "lr": 0.1} for e in range(1, 25)]
lrs = np.geomspace(1e-4, 10, 48)
FIGURES = {"misclassified": lambda: plots.misclassified(imgs, lab, pred, prob),
           "gradcam_pairs": lambda: plots.gradcam_pairs(imgs, imgs, lab, pred, prob),
           "augmented": lambda: plots.augmented(imgs, lab),
           "confusion": lambda: plots.confusion(rng.integers(0, 20, (10, 10))),
           "accuracy": lambda: plots.accuracy(hist),
           "lr_range": lambda: plots.lr_range(lrs, np.linspace(2.3, 2, 48), np.linspace(2.3, 2, 48), 0.001, 0.1)}
for kw in ({"bbox_inches": "tight"}, {}):
    for name, make in FIGURES.items():
        fig = getattr(make(), "figure", None) or plt.gcf()
        t0 = time.perf_counter()
        fig.savefig(io.BytesIO(), dpi=120, **kw)
        print(f"{name:14s} {time.perf_counter() - t0:6.2f} s  {kw}")
        plt.close(fig)
