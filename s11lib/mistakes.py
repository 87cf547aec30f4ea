"""What the net got wrong: the worst misclassified test images (highest loss first), the confusion
matrix, per-class accuracy and the most confused pairs, all as arrays.

Everything here reads the per-image outputs of the evaluation pass that produced the
reported test accuracy (``engine.evaluate(..., keep_outputs=True)``): no second pass over
the test set, and the same precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CLASSES
from .datasets import Split


@dataclass(frozen=True)
class Misclassified:
    images: np.ndarray  # (n, 32, 32, 3) uint8 RGB
    labels: np.ndarray  # (n,) true class
    preds: np.ndarray  # (n,) predicted class
    probs: np.ndarray  # (n,) the predicted class's softmax probability
    losses: np.ndarray  # (n,) cross-entropy of each image
    indices: np.ndarray  # (n,) positions in the test split


def find_misclassified(test: Split, outputs: dict, n: int = 25, spread: bool = False) -> Misclassified:
    """The ``n`` worst misclassified test images: the highest loss first (not the highest probability).

    Args:
        outputs: per-image ``preds``, ``probs`` and ``losses`` of the test split, in its order
            (``engine.evaluate(..., keep_outputs=True)``).
        spread: take them class by class in turn instead (the worst wrong airplane,
            automobile, ..., truck, then the second worst of each...).
    """
    preds, losses = np.asarray(outputs["preds"]), np.asarray(outputs["losses"])
    wrong = np.flatnonzero(preds != test.labels)
    wrong = wrong[np.argsort(-losses[wrong], kind="stable")]  # worst first; ties keep test-set order
    if spread:
        classes = test.labels[wrong]
        rank = np.zeros(len(wrong), dtype=np.int64)  # how many worse wrong images share the class
        for c in np.unique(classes):
            rank[classes == c] = np.arange((classes == c).sum())
        wrong = wrong[np.argsort(rank, kind="stable")]
    wrong = wrong[:n]
    return Misclassified(test.images[wrong], test.labels[wrong], preds[wrong], np.asarray(outputs["probs"])[wrong],
                         losses[wrong], wrong)


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int = len(CLASSES)) -> np.ndarray:
    """(num_classes, num_classes) int64 counts: rows the true class, columns the predicted one."""
    return np.bincount(np.asarray(labels) * num_classes + np.asarray(preds), minlength=num_classes**2).reshape(
        num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> dict[str, float]:
    """{class name: percent of that class's test images predicted right} (each row's recall)."""
    totals = confusion.sum(1)
    return {name: 100.0 * float(confusion[c, c]) / totals[c] if totals[c] else float("nan")
            for c, name in enumerate(CLASSES)}


def most_confused(confusion: np.ndarray, k: int = 5) -> list[tuple[str, str, int]]:
    """The ``k`` largest off-diagonal counts as (true, predicted, count), largest first."""
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    return [(CLASSES[i], CLASSES[j], int(off[i, j])) for i, j in zip(*np.unravel_index(order, off.shape)) if off[i, j]]


def per_class_table(per_class: dict[str, float], confused: list[tuple[str, str, int]]) -> str:
    """Per-class accuracy as a small table, then the most confused pairs."""
    lines = ["per-class test accuracy:"]
    lines += [f"  {name:<11} {acc:6.2f}%" for name, acc in per_class.items()]
    lines.append("most confused (true -> predicted: images): "
                 + ("; ".join(f"{t} -> {p}: {n}" for t, p, n in confused) or "none"))
    return "\n".join(lines)
