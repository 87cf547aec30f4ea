"""Figures. Each function only draws what it is given and returns its Axes (or Figure);
``save`` is the one that writes a drawn figure to a file."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator

from .config import CLASSES


def save(figure: Axes | Figure, path, *, close: bool = False) -> None:
    """Write ``figure`` (or the Figure of an Axes) to ``path`` as a 120-dpi PNG; ``close`` frees it
    (a script's habit; a notebook keeps it open so that it shows inline, once: nothing is
    returned for the cell to show a second time)."""
    fig = getattr(figure, "figure", figure)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    if close:
        plt.close(fig)


def _ax(ax: Axes | None, size=(6, 3.5)) -> Axes:
    return ax if ax is not None else plt.figure(figsize=size).add_subplot()


def zigzag(iterations: np.ndarray, lrs: np.ndarray, ax: Axes | None = None) -> Axes:
    """The triangular cyclic LR ("zigzag") against the iteration."""
    ax = _ax(ax)
    ax.plot(iterations, lrs, color="tab:blue")
    ax.set(xlabel="iteration", ylabel="learning rate", title="Triangular cyclic LR")
    ax.grid(alpha=0.3)
    return ax


UNTRUSTED_TITLE = "cannot be trusted: the lines are a fallback, not picks"


def lr_range(lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, lr_min: float, lr_max: float,
             ax: Axes | None = None, *, trusted: bool = True) -> Axes:
    """The LR range test: raw and smoothed loss against the LR (log axis), LRMIN and LRMAX marked;
    an untrusted pair is drawn dotted and called a fallback, in the title too."""
    ax = _ax(ax)
    ax.plot(lrs, losses, color="tab:blue", alpha=0.3, label="loss per batch")
    ax.plot(lrs, smoothed, color="tab:blue", label="smoothed")
    what, ls = ("", "--") if trusted else ("fallback ", ":")
    ax.axvline(lr_min, color="tab:green", ls=ls, label=f"{what}LRMIN {lr_min:.3g}")
    ax.axvline(lr_max, color="tab:red", ls=ls, label=f"{what}LRMAX {lr_max:.3g}")
    finite = np.asarray(smoothed)[np.isfinite(smoothed)]
    if len(finite):  # keep the diverged tail from flattening the interesting part
        ax.set_ylim(finite.min() - 0.1, min(np.max(finite), 2.5 * finite[0]) + 0.1)
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss",
           title="LR range test" if trusted else f"LR range test {UNTRUSTED_TITLE}")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return ax


def lr_ranges(curves: Sequence[tuple], lr_min: float, lr_max: float, ax: Axes | None = None, *,
              trusted: bool = True) -> Axes:
    """Several range tests: each seed's smoothed loss with its picks (dotted), and the median pair (dashed).

    Args:
        curves: (seed, lrs, smoothed losses, its LRMIN, its LRMAX) per test.
    """
    ax = _ax(ax, size=(7, 4))
    low, high = [], []
    for (seed, lrs, smoothed, lo, hi), color in zip(curves, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 9):
        ax.plot(lrs, smoothed, color=color, label=f"seed {seed}: {lo:.3g} / {hi:.3g}")
        ax.axvline(lo, color=color, ls=":", lw=1)
        ax.axvline(hi, color=color, ls=":", lw=1)
        finite = np.asarray(smoothed)[np.isfinite(smoothed)]
        if len(finite):
            low.append(finite.min())
            high.append(min(np.max(finite), 2.5 * finite[0]))
    what = "median" if trusted else "fallback median"
    ax.axvline(lr_min, color="black", ls="--", label=f"{what} LRMIN {lr_min:.3g}")
    ax.axvline(lr_max, color="black", ls="-.", label=f"{what} LRMAX {lr_max:.3g}")
    if low:
        ax.set_ylim(min(low) - 0.1, max(high) + 0.1)
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss (smoothed)",
           title=f"LR range tests, {len(curves)} seeds" + ("" if trusted else f"\n{UNTRUSTED_TITLE}"))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return ax


def _epoch_axis(ax: Axes, epochs: float) -> None:
    """Every epoch plot starts at 0 and carries whole-number ticks."""
    ax.set_xlim(0, max(epochs, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def one_cycle(lrs: Sequence[float], steps_per_epoch: int, lr_min: float | None = None, lr_max: float | None = None,
              ax: Axes | None = None, *, title: str = "One cycle: LR per batch") -> Axes:
    """The LR each batch was trained at, drawn where the batch ends (batch i at (i+1)/steps_per_epoch),
    so the peak sits on the end of the peak epoch and the line ends on the last; LRMIN and LRMAX marked."""
    ax = _ax(ax)
    ax.plot((np.arange(len(lrs)) + 1) / steps_per_epoch, lrs, color="tab:orange", label="LR per batch")
    for value, name, color in ((lr_max, "LRMAX", "tab:red"), (lr_min, "LRMIN", "tab:green")):
        if value is not None:
            ax.axhline(value, color=color, ls="--", lw=1, label=f"{name} {value:.3g}")
    ax.set(xlabel="epoch", ylabel="learning rate", title=title)
    _epoch_axis(ax, len(lrs) / steps_per_epoch)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)  # beside the axes: over no part of the line
    ax.grid(alpha=0.3)
    return ax


def _curves(history: Sequence[dict], key: str, ylabel: str, ax: Axes | None) -> Axes:
    ax = _ax(ax)
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r[f"train_{key}"] for r in history], marker=".", label="train")
    ax.plot(epochs, [r[f"test_{key}"] for r in history], marker=".", label="test")
    ax.set(xlabel="epoch", ylabel=ylabel)
    _epoch_axis(ax, max(epochs))
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def accuracy(history: Sequence[dict], ax: Axes | None = None) -> Axes:
    """Train and test accuracy (percent) per epoch."""
    ax = _curves(history, "acc", "accuracy (%)", ax)
    ax.set_title("Accuracy")
    return ax


def loss(history: Sequence[dict], ax: Axes | None = None) -> Axes:
    """Train and test loss per epoch."""
    ax = _curves(history, "loss", "cross-entropy loss", ax)
    ax.set_title("Loss")
    return ax


def image_grid(images: np.ndarray, titles: Sequence[str], ncols: int = 5, title: str | None = None) -> Figure:
    """uint8 RGB images in a grid with a caption each."""
    nrows = max(1, -(-len(images) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2 * ncols, 2.3 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], interpolation="nearest")
            ax.set_title(titles[i], fontsize=9, y=1.0)
    if title:
        fig.suptitle(title)
    # fixed spacing for two-line captions: tight_layout would measure every caption (a second per grid)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.9 / fig.get_figheight(), wspace=0.08,
                        hspace=0.45)
    return fig


def _caption(true: int, pred: int, prob: float | None) -> str:
    return f"true: {CLASSES[true]}\npred: {CLASSES[pred]}" + (f" ({prob:.2f})" if prob is not None else "")


def misclassified(images: np.ndarray, labels: np.ndarray, preds: np.ndarray, probs: np.ndarray | None = None,
                  title: str = "Misclassified test images, highest loss first") -> Figure:
    """The grid of wrong predictions, captioned with the true class, the predicted one and its probability."""
    probs = [None] * len(labels) if probs is None else probs
    return image_grid(images, [_caption(t, p, q) for t, p, q in zip(labels, preds, probs)], title=title)


def gradcam_pairs(predicted: np.ndarray, true: np.ndarray, labels: np.ndarray, preds: np.ndarray, probs: np.ndarray,
                  layer: str = "layer3", pairs_per_row: int = 5) -> Figure:
    """For each mistake, the GradCAM overlay for the predicted class (left) beside the one for
    the true class (right); a gap between pairs keeps them apart."""
    nrows = max(1, -(-len(labels) // pairs_per_row))
    fig = plt.figure(figsize=(4.3 * pairs_per_row, 2.3 * nrows))
    grid = fig.add_gridspec(nrows, 3 * pairs_per_row, width_ratios=[1, 1, 0.3] * pairs_per_row, left=0.01, right=0.99,
                            bottom=0.01, top=1 - 0.9 / fig.get_figheight(), wspace=0.05, hspace=0.45)
    for i, (p, y, q) in enumerate(zip(preds, labels, probs)):
        row, col = divmod(i, pairs_per_row)
        for j, (image, caption) in enumerate(((predicted[i], f"pred: {CLASSES[p]} ({q:.2f})"),
                                              (true[i], f"true: {CLASSES[y]}"))):
            ax = fig.add_subplot(grid[row, 3 * col + j])
            ax.imshow(image, interpolation="nearest")
            ax.set_title(caption, fontsize=9, y=1.0)
            ax.axis("off")
    fig.suptitle(f"GradCAM ({layer}) of each mistake: for the predicted class (left) and for the true class (right)")
    return fig


def predictions(preds: Sequence, per_row: int = 4) -> Figure:
    """Each image as the net saw it (32x32), captioned with its top classes and their probabilities, beside
    the GradCAM map of the top class (``inference.Prediction``s)."""
    nrows = max(1, -(-len(preds) // per_row))
    cols = min(len(preds), per_row) or 1
    fig = plt.figure(figsize=(4.3 * cols, 2.9 * nrows))
    grid = fig.add_gridspec(nrows, 3 * cols, width_ratios=[1, 1, 0.3] * cols, left=0.01, right=0.99, bottom=0.01,
                            top=1 - 0.9 / fig.get_figheight(), wspace=0.05, hspace=0.75)
    for i, p in enumerate(preds):
        row, col = divmod(i, per_row)
        captions = (f"{p.path.name}\n" + ", ".join(f"{c} {q:.0%}" for c, q in p.top), f"GradCAM of {p.top[0][0]}")
        for j, (image, caption) in enumerate(((p.image, captions[0]), (p.gradcam, captions[1]))):
            ax = fig.add_subplot(grid[row, 3 * col + j])
            ax.imshow(image, interpolation="nearest")
            ax.set_title(caption, fontsize=8)
            ax.axis("off")
    fig.suptitle("Your images as the net saw them (32x32) with its top classes, and GradCAM of the top one")
    return fig


def confusion(matrix: np.ndarray) -> Figure:
    """The confusion matrix twice: counts, and each row divided by its total (the class's recall on the diagonal)."""
    matrix = np.asarray(matrix)
    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, axes = plt.subplots(1, 2, figsize=(14, 6))
    for ax, values, title, fmt in ((axes[0], matrix, "Counts", "d"), (axes[1], rates, "Share of each true class", ".2f")):
        im = ax.imshow(values if fmt == ".2f" else rates, cmap="Blues", vmin=0, vmax=1)
        for i, j in np.ndindex(values.shape):
            if values[i, j]:
                ax.text(j, i, format(values[i, j], fmt), ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, ha="right")
        ax.set_yticks(range(len(CLASSES)), CLASSES)
        ax.set(xlabel="predicted class", ylabel="true class", title=title)
    axes[1].set_ylabel("")  # the rows are named once, on the left: room for the right panel's class names
    fig.subplots_adjust(wspace=0.3)
    fig.colorbar(im, ax=axes, fraction=0.025, label="share of the true class")
    fig.suptitle("Confusion matrix of the test set")
    return fig


def augmented(images: np.ndarray, labels: np.ndarray) -> Figure:
    """Training images as the net sees them after augmentation (denormalized)."""
    return image_grid(images, [CLASSES[c] for c in labels], title="Augmented training samples")


SCHEDULE_COLORMAPS = {"one-cycle": "Blues", "step": "Oranges", "constant": "Greens"}  # one hue per schedule


def sweep_colors(keys) -> dict[tuple[str, int], tuple]:
    """One colour per (schedule, epochs), the same in every figure of a sweep: a hue per schedule,
    darker for longer runs."""
    lengths = sorted({e for _, e in keys})
    shade = {e: 0.85 if len(lengths) == 1 else 0.5 + 0.45 * i / (len(lengths) - 1) for i, e in enumerate(lengths)}
    return {(s, e): plt.get_cmap(SCHEDULE_COLORMAPS.get(s, "Greys"))(shade[e]) for s, e in keys}


def sweep_lr(rows: Sequence[dict], colors: dict, found_lr_max: float | None = None, note: str | None = None,
             ax: Axes | None = None) -> Axes:
    """Test accuracy against LRMAX (log axis, the swept values as ticks), per schedule and length:
    each finished seed a dot and their median a line; the range test's LRMAX marked and its runs as
    stars, per length; a run that diverged a cross at its last good epoch's accuracy (on the axis when
    it had none), never part of a line; ``note`` (an untrusted range test) written on the figure."""
    ax = _ax(ax, size=(7.5, 4.5))
    grid = [r for r in rows if not r["found"]]
    for i, key in enumerate(sorted({(r["schedule"], r["epochs"]) for r in grid})):
        done = [r for r in grid if (r["schedule"], r["epochs"]) == key and r["status"] == "done"]
        if not done:
            continue
        width = max(1.0, 3.4 - 0.8 * i)  # each line thinner than the one before: one that lies on another shows
        ax.scatter([r["lr_max"] for r in done], [r["test_accuracy"] for r in done], color=colors[key], s=14, alpha=0.6)
        lrs = sorted({r["lr_max"] for r in done})
        medians = [float(np.median([r["test_accuracy"] for r in done if r["lr_max"] == lr])) for lr in lrs]
        seeds = max(sum(r["lr_max"] == lr for r in done) for lr in lrs)
        ax.plot(lrs, medians, color=colors[key], marker="o", lw=width, ms=2 + 2 * width,
                label=f"{key[0]}, {key[1]} epochs" + (f" (line: median of {seeds} seeds)" if seeds > 1 else ""))
    for i, e in enumerate(sorted({r["epochs"] for r in rows if r["found"] and r["status"] == "done"})):
        stars = [r for r in rows if r["found"] and r["epochs"] == e and r["status"] == "done"]
        ax.scatter([r["lr_max"] for r in stars], [r["test_accuracy"] for r in stars], marker="*", zorder=3,
                   s=max(90, 300 - 110 * i),  # smaller on top of larger: stars at one accuracy both show
                   color=colors[("one-cycle", e)], edgecolors="black", label=f"one cycle at the found pair, {e} epochs")
    blown = [r for r in rows if r["status"] == "diverged"]
    if blown:  # at the last good epoch's accuracy; at 0% when no epoch finished (the axis then reaches 0)
        ax.scatter([r["lr_max"] for r in blown], [r["test_accuracy"] or 0.0 for r in blown], marker="x", s=40,
                   color="red", zorder=3, label="diverged (its last good epoch's accuracy; 0: none finished)")
    if found_lr_max is not None:
        ax.axvline(found_lr_max, color="black", ls="--", lw=1, label=f"found LRMAX {found_lr_max:.3g}")
    if note:
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=8, va="bottom", wrap=True)
    ax.set(xscale="log", xlabel="LRMAX", ylabel="final test accuracy (%)", title="Test accuracy against LRMAX")
    ticks = sorted({r["lr_max"] for r in grid if r["lr_max"] is not None})
    shown = [*ticks, *(r["lr_max"] for r in rows if r["lr_max"]), *([found_lr_max] if found_lr_max else [])]
    if shown:  # every swept value inside the axes, whatever was drawn at it
        ax.set_xlim(min(shown) / 1.5, max(shown) * 1.5)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
    ax.xaxis.set_minor_locator(NullLocator())
    if ax.get_legend_handles_labels()[0]:
        _legend_below(ax)
    ax.grid(alpha=0.3)
    return ax


def _legend_below(ax: Axes) -> None:
    """The legend under the axes, where it hides no point however many lines a sweep has."""
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)


def sweep_curves(curves: Sequence[dict], ax: Axes | None = None) -> Axes:
    """Test accuracy per epoch, from epoch 1: each curve {"label", "epochs", "accuracy", "color", "found"}
    (the found pair's dashed, with stars)."""
    ax = _ax(ax, size=(7.5, 4.5))
    for c in curves:
        ax.plot(c["epochs"], c["accuracy"], color=c["color"], ls="--" if c["found"] else "-",
                marker="*" if c["found"] else ".", label=c["label"])
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy per epoch at each schedule's best LRMAX")
    ax.set_xlim(1, max(max(c["epochs"]) for c in curves))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_below(ax)
    ax.grid(alpha=0.3)
    return ax


def sweep_budget(best: dict[str, Sequence[tuple[int, float]]], colors: dict, found: Sequence[tuple[int, float]] = (),
                 ax: Axes | None = None) -> Axes:
    """Final test accuracy at the best LRMAX (median of seeds) against the number of epochs, a line per
    schedule (schedule -> [(epochs, accuracy)]), each point in its (schedule, length) colour; the found
    pair's one cycle dashed."""
    ax = _ax(ax)
    for schedule, points in best.items():
        points = sorted(points)
        ax.plot([e for e, _ in points], [a for _, a in points], color=colors[(schedule, points[-1][0])], label=schedule)
        ax.scatter([e for e, _ in points], [a for _, a in points], color=[colors[(schedule, e)] for e, _ in points],
                   zorder=3)
    if found:
        ax.plot([e for e, _ in found], [a for _, a in found], color="black", ls="--", marker="*",
                label="one cycle at the found pair")
    ax.set(xlabel="epochs", ylabel="final test accuracy at the best LRMAX (%)",
           title="Final test accuracy at the best LRMAX against the budget")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def tries(curves: Sequence[dict], ax: Axes | None = None) -> Axes:
    """Several tries' test accuracy per epoch in one figure: each curve {"label", "epochs", "accuracy"}."""
    ax = _ax(ax, size=(7, 4))
    for c in curves:
        ax.plot(c["epochs"], c["accuracy"], marker=".", label=c["label"])
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy per epoch of each try")
    if curves:
        _epoch_axis(ax, max(max(c["epochs"]) for c in curves))
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
    ax.grid(alpha=0.3)
    return ax


SIDE_BY_SIDE_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red")


def side_by_side(groups: Sequence[dict], target: float = 90.0) -> Figure:
    """Full-size runs on the same pixels: test accuracy per epoch of each run (left; a group's runs in its
    colour), and each group's final test accuracy per seed, its median marked (right). Each group:
    {"label", "curves": [[acc per epoch], ...], "finals": [acc per run], "color" (optional)}; a group without
    curves (the peer) is on the right alone."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    for i, g in enumerate(groups):
        color = g.get("color") or SIDE_BY_SIDE_COLORS[i % len(SIDE_BY_SIDE_COLORS)]
        for j, curve in enumerate(g["curves"]):
            left.plot(range(1, len(curve) + 1), curve, color=color, marker=".", alpha=0.9,
                      label=g["label"] if j == 0 else None)
        y = len(groups) - 1 - i
        right.scatter(g["finals"], [y] * len(g["finals"]), color=color, s=40, zorder=3)
        median = float(np.median(g["finals"]))
        right.plot([median] * 2, [y - 0.15, y + 0.15], color=color, lw=2)
        right.annotate(f"{median:.2f} (n={len(g['finals'])})", (median, y + 0.2), ha="center", fontsize=9)
    left.axhline(target, color="grey", ls=":", lw=1)
    right.axvline(target, color="grey", ls=":", lw=1)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    left.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy per epoch (dotted: the 90% target)")
    left.set_ylim(top=100)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(loc="lower right", fontsize=9)
    right.set_yticks(range(len(groups)), [g["label"] for g in reversed(groups)], fontsize=9)
    right.set_ylim(-0.6, len(groups) - 0.3)
    right.set(xlabel="final test accuracy (%): each run a dot, the median a bar", title="Final test accuracy")
    right.yaxis.tick_right()
    fig.suptitle("Full-size runs on the same JPEG pixels of CIFAR-10 (50,000 / 10,000 images), on CPUs")
    fig.tight_layout()
    return fig
