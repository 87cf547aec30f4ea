"""Your own images through a trained net: its top 3 classes with their probabilities, and the GradCAM map of
its top class.

    preds = s11lib.predict("runs/a", ["cat.jpg", "my-car.png"])     # a run folder or its checkpoint.pt
    print(inference.report(preds)); plots.predictions(preds)

The net saw 32x32 images: an image of any other size is cut to its centre square and resized to 32x32
(the report says so). A file that is not an image is refused in one line, before the checkpoint is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import CLASSES, InputError

SIZE = 32  # CIFAR-10's side: the net's input


@dataclass(frozen=True)
class Prediction:
    path: Path
    size: tuple[int, int]  # the file's (width, height)
    image: np.ndarray  # (32, 32, 3) uint8: what the net saw
    top: tuple[tuple[str, float], ...]  # the top classes, most probable first, with their probabilities
    gradcam: np.ndarray  # (32, 32, 3) uint8: the top class's GradCAM map over the image

    @property
    def how(self) -> str:
        """What was done to the file to make the net's input."""
        w, h = self.size
        if (w, h) == (SIZE, SIZE):
            return f"{w}x{h}"
        side = min(w, h)
        cut = f", its centre {side}x{side}" if w != h else ""
        return f"{w}x{h}{cut} resized to {SIZE}x{SIZE}"


def read_image(path: str | Path) -> tuple[np.ndarray, tuple[int, int]]:
    """The image at ``path`` as the net's input, (32, 32, 3) uint8 RGB (its centre square, resized), and its size.

    Raises:
        InputError: no such file, or one that PIL cannot read as an image.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} is not a file; give the paths of image files (PNG, JPEG, ...)")
    try:
        with Image.open(path) as opened:
            img = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"{path} is not an image (PIL: {e.__class__.__name__}); give PNG, JPEG or another image "
                         "PIL reads") from None
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    small = img.resize((SIZE, SIZE), Image.Resampling.LANCZOS, box=box)
    return np.asarray(small, dtype=np.uint8), (w, h)


def predict(run: str | Path, images, top: int = 3, device: str = "auto") -> list[Prediction]:
    """The trained net of ``run`` (a run folder or its checkpoint.pt) on each image file of ``images``: its
    ``top`` classes with probabilities (softmax of the logits, fp32), and the GradCAM map of the first.

    Raises:
        InputError: a file that is not an image (checked for all before the checkpoint is read), or a
            checkpoint that is missing or not from ``train``.
    """
    paths = [Path(p) for p in ([images] if isinstance(images, (str, Path)) else images)]
    if not paths:
        raise InputError("no image given; give the paths of image files (PNG, JPEG, ...)")
    read = [read_image(p) for p in paths]  # every file checked before torch and the checkpoint are loaded
    import torch

    from . import checkpoint
    from .augment import normalize
    from .engine import build_model, resolve_device
    from .gradcam import gradcam, overlay
    from .outputs import checkpoint_file

    pixels = np.stack([r[0] for r in read])
    path = checkpoint_file(Path(run))
    ckpt = checkpoint.load(path)
    cfg = ckpt["config"]
    dev = resolve_device(device)
    model = build_model(cfg, dev)
    checkpoint.load_weights(model, ckpt, path)
    model.eval()
    with torch.no_grad():
        x = normalize(torch.from_numpy(pixels).to(dev).permute(0, 3, 1, 2))
        probs = torch.softmax(model(x).float(), dim=1).cpu().numpy()
    order = np.argsort(-probs, axis=1)[:, :top]
    cams = overlay(pixels, gradcam(model, pixels, order[:, 0], dev, layer=cfg.gradcam_layer))
    return [Prediction(p, size, img, tuple((CLASSES[c], float(probs[i, c])) for c in order[i]), cam)
            for i, (p, (img, size), cam) in enumerate(zip(paths, read, cams))]


def report(predictions: list[Prediction]) -> str:
    """One line per image: its name, what was done to it, its top classes with their probabilities."""
    return "\n".join(f"{p.path.name} ({p.how}): " + ", ".join(f"{c} {q:.1%}" for c, q in p.top) for p in predictions)
