"""GradCAM maps (``pytorch_grad_cam``) for chosen images and classes, as arrays.

``pytorch_grad_cam`` is imported when a map is drawn, not with this module: it imports scikit-learn, SciPy
and torchvision (5 s on a 2-core CPU), which a range test, a sweep or a run that stops early never use."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .augment import normalize


def target_layer(model: nn.Module, name: str = "layer3") -> nn.Module:
    """The block whose output GradCAM weighs: "prep" (32x32), "layer1" (16x16), "layer2" (8x8)
    or "layer3" (4x4, the default: the last, most class-specific block, residual sum included)."""
    return getattr(model, name)


def gradcam(model: nn.Module, images: np.ndarray, classes: np.ndarray, device: torch.device,
            layer: str = "layer3") -> np.ndarray:
    """GradCAM maps (n, 32, 32) in [0, 1] for ``classes``: the predicted ones (why did it say
    that?) or the true ones (what should it have looked at?).

    The model comes back as it was: its train/eval mode and its parameters' ``.grad``.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    was_training, grads = model.training, [p.grad for p in model.parameters()]
    model.eval()
    try:
        x = normalize(torch.from_numpy(images).to(device).permute(0, 3, 1, 2))
        with GradCAM(model=model, target_layers=[target_layer(model, layer)]) as cam:
            return cam(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in classes])
    finally:
        model.train(was_training)
        for p, g in zip(model.parameters(), grads):
            p.grad = g


def overlay(images: np.ndarray, maps: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """Heat maps blended onto the images: (n, 32, 32, 3) uint8."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    return np.stack([show_cam_on_image(img.astype(np.float32) / 255, m, use_rgb=True, image_weight=weight)
                     for img, m in zip(images, maps)])
