"""Misclassified test images and their GradCAM maps (``pytorch_grad_cam``), as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import show_cam_on_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from .data import Split, normalize


@dataclass(frozen=True)
class Misclassified:
    images: np.ndarray  # (n, 32, 32, 3) uint8 RGB
    labels: np.ndarray  # (n,) true class
    preds: np.ndarray  # (n,) predicted class
    indices: np.ndarray  # (n,) positions in the test split


def target_layer(model: nn.Module, name: str = "layer3") -> nn.Module:
    """The block whose output GradCAM weighs: "prep" (32x32), "layer1" (16x16), "layer2" (8x8)
    or "layer3" (4x4, the default: the last, most class-specific block, residual sum included)."""
    return getattr(model, name)


@torch.no_grad()
def find_misclassified(model: nn.Module, test: Split, device: torch.device, n: int = 25, batch_size: int = 500) -> Misclassified:
    """``n`` test images that ``model`` gets wrong, taken class by class in turn (the first
    wrong airplane, automobile, ..., truck, then the second of each...) so that a test set
    stored class by class does not give 25 airplanes."""
    model.eval()
    preds = []
    for start in range(0, len(test), batch_size):
        x = torch.from_numpy(test.images[start : start + batch_size]).to(device).permute(0, 3, 1, 2)
        preds.append(model(normalize(x)).argmax(1).cpu())
    preds = torch.cat(preds).numpy()
    wrong = np.flatnonzero(preds != test.labels)
    classes = test.labels[wrong]
    rank = np.zeros(len(wrong), dtype=np.int64)  # how many earlier wrong images share the class
    for c in np.unique(classes):
        rank[classes == c] = np.arange((classes == c).sum())
    wrong = wrong[np.lexsort((classes, rank))][:n]
    return Misclassified(test.images[wrong], test.labels[wrong], preds[wrong], wrong)


def gradcam(model: nn.Module, images: np.ndarray, classes: np.ndarray, device: torch.device,
            layer: str = "layer3") -> np.ndarray:
    """GradCAM maps (n, 32, 32) in [0, 1] for ``classes`` (e.g. the predicted ones: why did it say that?)."""
    model.eval()
    x = normalize(torch.from_numpy(images).to(device).permute(0, 3, 1, 2))
    with GradCAM(model=model, target_layers=[target_layer(model, layer)]) as cam:
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in classes])
    return maps


def overlay(images: np.ndarray, maps: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """Heat maps blended onto the images: (n, 32, 32, 3) uint8."""
    return np.stack([show_cam_on_image(img.astype(np.float32) / 255, m, use_rgb=True, image_weight=weight)
                     for img, m in zip(images, maps)])
