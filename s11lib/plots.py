"""Figures. Each function only draws what it is given and returns its Axes (or Figure)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .config import CLASSES


def _ax(ax: Axes | None, size=(6, 3.5)) -> Axes:
    return ax if ax is not None else plt.figure(figsize=size).add_subplot()


def zigzag(iterations: np.ndarray, lrs: np.ndarray, ax: Axes | None = None) -> Axes:
    """The triangular cyclic LR ("zigzag") against the iteration."""
    ax = _ax(ax)
    ax.plot(iterations, lrs, color="tab:blue")
    ax.set(xlabel="iteration", ylabel="learning rate", title="Triangular cyclic LR")
    ax.grid(alpha=0.3)
    return ax


def lr_range(lrs: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, lr_min: float, lr_max: float,
             ax: Axes | None = None) -> Axes:
    """The LR range test: raw and smoothed loss against the LR (log axis), LRMIN and LRMAX marked."""
    ax = _ax(ax)
    ax.plot(lrs, losses, color="tab:blue", alpha=0.3, label="loss per batch")
    ax.plot(lrs, smoothed, color="tab:blue", label="smoothed")
    ax.axvline(lr_min, color="tab:green", ls="--", label=f"LRMIN {lr_min:.3g}")
    ax.axvline(lr_max, color="tab:red", ls="--", label=f"LRMAX {lr_max:.3g}")
    finite = np.asarray(smoothed)[np.isfinite(smoothed)]
    if len(finite):  # keep the diverged tail from flattening the interesting part
        ax.set_ylim(finite.min() - 0.1, min(np.max(finite), 2.5 * finite[0]) + 0.1)
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title="LR range test")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return ax


def one_cycle(lrs: Sequence[float], steps_per_epoch: int, ax: Axes | None = None) -> Axes:
    """The LR each batch was trained at, against the epoch."""
    ax = _ax(ax)
    ax.plot(np.arange(len(lrs)) / steps_per_epoch, lrs, color="tab:orange")
    ax.set(xlabel="epoch", ylabel="learning rate", title="One cycle: LR per batch")
    ax.grid(alpha=0.3)
    return ax


def _curves(history: Sequence[dict], key: str, ylabel: str, ax: Axes | None) -> Axes:
    ax = _ax(ax)
    epochs = [r["epoch"] for r in history]
    ax.plot(epochs, [r[f"train_{key}"] for r in history], marker=".", label="train")
    ax.plot(epochs, [r[f"test_{key}"] for r in history], marker=".", label="test")
    ax.set(xlabel="epoch", ylabel=ylabel)
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
            ax.set_title(titles[i], fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def misclassified(images: np.ndarray, labels: np.ndarray, preds: np.ndarray, title: str = "Misclassified test images") -> Figure:
    """The grid of wrong predictions, captioned 'true / predicted'."""
    return image_grid(images, [f"{CLASSES[t]}\npred: {CLASSES[p]}" for t, p in zip(labels, preds)], title=title)


def augmented(images: np.ndarray, labels: np.ndarray) -> Figure:
    """Training images as the net sees them after augmentation (denormalized)."""
    return image_grid(images, [CLASSES[c] for c in labels], title="Augmented training samples")
