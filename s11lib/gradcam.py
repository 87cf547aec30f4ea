"""GradCAM maps (``pytorch_grad_cam``) for chosen images and classes, as arrays.

``pytorch_grad_cam`` is imported when a map is drawn, not with this module: it imports scikit-learn, SciPy
and torchvision (5 s on a 2-core CPU), which a range test, a sweep or a run that stops early never use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import checkpoint, figures, plots
from .augment import normalize
from .config import Config, Interrupted
from .datasets import load_cifar10
from .engine import autocast_dtype, build_model, evaluate, start_run
from .loaders import DeviceLoader
from .mistakes import find_misclassified
from .steps import Results, State


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


def explain(state: State, results: Results) -> Results:
    """GradCAM maps of the worst mistakes, for the predicted and for the true class, into ``results.cams``."""
    mis = results.mistakes
    for target, classes in (("predicted", mis.preds), ("true", mis.labels)):
        results.cams[target] = overlay(mis.images, gradcam(state.model, mis.images, classes, state.device,
                                                           layer=state.cfg.gradcam_layer))
    return results


def gradcam_job(cfg: Config, ckpt: dict, path: Path, out: Path, *, layer: str, target: str) -> None:
    """GradCAM of a checkpoint's worst mistakes on its own test images, drawn into ``out``.

    Only the test split is loaded onto the device: ``prepare`` would also build the training
    loader (with ``--augment gpu``, the whole padded training set on the device) for nothing.
    """
    doing = "reading the data"
    try:
        device = start_run(cfg)
        model = build_model(cfg, device)
        checkpoint.load_weights(model, ckpt, path)
        data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)  # the test images the run scored
        doing = "scoring the test set"
        outputs = evaluate(model, DeviceLoader(data.test, cfg.batch_size, device, train=False), nn.CrossEntropyLoss(),
                           device, dtype=autocast_dtype(cfg.precision, device), keep_outputs=True)["outputs"]
        mis = find_misclassified(data.test, outputs, spread=cfg.misclassified_by_class)
        doing = "drawing GradCAM maps"
        targets = ("predicted", "true") if target == "both" else (target,)
        cams = {t: overlay(mis.images, gradcam(model, mis.images, mis.preds if t == "predicted" else mis.labels,
                                               device, layer=layer)) for t in targets}
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {doing}; nothing was written") from None
    if target == "both":
        fig = plots.gradcam_pairs(cams["predicted"], cams["true"], mis.labels, mis.preds, mis.probs, layer=layer)
    else:
        fig = plots.misclassified(cams[target], mis.labels, mis.preds, mis.probs,
                                  title=f"GradCAM ({layer}) for the {target} class, {figures.order(cfg)}")
    plots.save(fig, out, close=True)
    wrong = int((outputs["preds"] != data.test.labels).sum())
    print(f"wrote {out} (the {len(mis.labels)} worst of the {wrong} misclassified test images, of {len(data.test)}, "
          f"from {data.source})")
