"""The training augmentations, twice: albumentations per image, and batched tensor ops.

Both do the same thing with the same distributions: reflect-pad 4, a random 32x32 crop, a
horizontal flip (p 0.5) and one ``cutout x cutout`` hole filled with the mean, then
normalize. ``train_transform`` is the albumentations Compose that the DataLoader path runs;
``augment_batch`` and ``augment_from_table`` do a whole uint8 batch in one gather on any
device (``--augment gpu``).

albumentations is imported when a transform is built, not when this module is: the run sets
``NO_ALBUMENTATIONS_UPDATE`` first (``engine.start_run``), or albumentations phones home.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import torch

from .datasets import Split, balanced_indices

if TYPE_CHECKING:
    import albumentations as A

# Per-channel mean and std of the 50,000 original CIFAR-10 training images (RGB, pixels / 255),
# over all pixels of all images: `x = train.images / 255; x.mean((0, 1, 2)), x.std((0, 1, 2))`.
# The often-copied std (0.2023, 0.1994, 0.2010) is the mean of per-image stds, not this.
# The offline JPEG copy gives mean 0.4913, 0.4821, 0.4465 and std 0.2452, 0.2428, 0.2606 (JPEG
# smooths the pixels a little); we keep the original's constants for every source.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
MEAN_PIXEL = tuple(round(m * 255) for m in MEAN)  # cutout fill in uint8: (125, 123, 114)

PAD = 4  # pixels of reflection added on each side before the random 32x32 crop


# ---------------------------------------------------------------------------------------
# albumentations, one image at a time


def train_transform(cutout: int = 8, seed: int | None = None) -> A.Compose:
    """Pad 4 (reflect) -> random 32x32 crop -> horizontal flip -> one cutout hole -> normalize.

    Padding reflects the border (as in Page's ResNet-9) instead of adding black bars the net
    could learn as a position cue. Cutout is applied to every image (p=1), as in DeVries &
    Taylor and Page: one ``cutout x cutout`` hole, fully inside the image, filled with the
    data set's mean so that it normalizes to ~0. Every transform draws from one random
    stream (``seed_transform``).
    """
    import albumentations as A
    import cv2
    from albumentations.pytorch import ToTensorV2

    transform = A.Compose(
        [
            A.PadIfNeeded(min_height=32 + 2 * PAD, min_width=32 + 2 * PAD, border_mode=cv2.BORDER_REFLECT_101),
            A.RandomCrop(height=32, width=32),
            A.HorizontalFlip(p=0.5),
            A.CoarseDropout(
                num_holes_range=(1, 1),
                hole_height_range=(cutout, cutout),
                hole_width_range=(cutout, cutout),
                fill=MEAN_PIXEL,
                p=1.0,
            ),
            A.Normalize(mean=MEAN, std=STD, max_pixel_value=255.0),
            ToTensorV2(),
        ]
    )
    seed_transform(transform, seed)
    return transform


def seed_transform(transform: A.Compose, seed: int | None) -> None:
    """Make every transform of ``transform`` draw from one stream seeded with ``seed``.

    ``Compose(seed=s)`` and ``Compose.set_random_seed(s)`` give each child its *own*
    ``random.Random(s)`` and ``default_rng(s)``, all with the same seed (albumentations
    2.0.8): the flip then replays the crop's draws, and the two are coupled (P(flip | crop
    top <= 4) = 0.89, P(flip | top >= 5) = 0). One shared stream makes them independent.
    ``None`` seeds from the operating system.
    """
    transform.set_random_state(np.random.default_rng(seed), random.Random(seed))


def transform_state(transform: A.Compose) -> tuple:
    """The shared stream's state (``seed_transform``), in types ``torch.load(weights_only=True)`` reads."""
    return transform.random_generator.bit_generator.state, transform.py_random.getstate()


def set_transform_state(transform: A.Compose, state: tuple) -> None:
    np_state, py_state = state
    transform.random_generator.bit_generator.state = np_state
    transform.py_random.setstate(py_state)


def eval_transform() -> A.Compose:
    """Normalize only: for test images (and anything else that must be seen as it is)."""
    import albumentations as A
    from albumentations.pytorch import ToTensorV2

    return A.Compose([A.Normalize(mean=MEAN, std=STD, max_pixel_value=255.0), ToTensorV2()])


# ---------------------------------------------------------------------------------------
# Batched: the same augmentations, whole batches at once, on any device


def gather_index(first: torch.Tensor, n_images: int, side: int, cutout: int, generator: torch.Generator) -> torch.Tensor:
    """Pixel indices that crop, flip and cut out a batch in one gather.

    The pixels of ``n_images`` padded ``side x side`` images are rows of a table (image-major,
    then row, then column), followed by one extra row holding the mean pixel: a hole simply
    points there. ``first`` is each batch image's index into the table's images.

    Returns:
        (B * 32 * 32,) int32 row indices (half the memory traffic of int64; the full padded
        training set has 80M pixels), for an output laid out (B, 32, 32).
    """
    b, dev, i32 = first.shape[0], first.device, torch.int32
    size = side - 2 * PAD
    offsets = torch.randint(0, 2 * PAD + 1, (2, b), device=dev, generator=generator, dtype=i32)
    flip = torch.rand(b, device=dev, generator=generator) < 0.5
    ar = torch.arange(size, device=dev, dtype=i32)
    window = ar[:, None] * side + torch.stack([ar, ar.flip(0)])[:, None, :]  # (2, 32, 32): plain, and flipped (columns backwards)
    corner = (first.to(i32) * side + offsets[0]) * side + offsets[1]  # first pixel of each crop
    idx = window[flip.long()] + corner[:, None, None]  # (B, 32, 32)
    if cutout:  # point the hole's 8x8 pixels at the mean-pixel row: 64 writes per image, no mask
        hole = torch.randint(0, size - cutout + 1, (2, b, 1, 1), device=dev, generator=generator, dtype=i32)
        a = torch.arange(cutout, device=dev, dtype=i32)
        inside = ((hole[0] + a[:, None]) * size + hole[1] + a[None, :]).view(b, -1).long()  # (B, 64) in 0..1023
        fill = torch.full(inside.shape, n_images * side * side, device=dev, dtype=i32)
        idx = idx.view(b, -1).scatter_(1, inside, fill)
    return idx.reshape(-1)


def pixel_table(padded: torch.Tensor) -> torch.Tensor:
    """(N, S, S, 3) uint8 -> (N*S*S + 1, 3): every pixel as a row, then the mean pixel (the cutout fill)."""
    fill = torch.tensor([MEAN_PIXEL], dtype=padded.dtype, device=padded.device)
    return torch.cat([padded.reshape(-1, 3), fill])


def augment_batch(padded: torch.Tensor, cutout: int, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crop, horizontal flip (p=0.5) and one mean-filled hole for a uint8 batch.

    Args:
        padded: (B, 32 + 2*PAD, 32 + 2*PAD, 3) uint8, already reflect-padded.
        cutout: side of the hole; 0 leaves the images whole.
        generator: random stream on ``padded.device``.

    Returns:
        (B, 3, 32, 32) uint8 (channels-last memory), distributed as ``train_transform``'s output
        before normalization: crop offsets uniform in 0..2*PAD, holes uniform and fully inside.
    """
    b, side = padded.shape[0], padded.shape[1]
    return augment_from_table(pixel_table(padded), torch.arange(b, device=padded.device), b, side, cutout, generator)


def augment_from_table(table: torch.Tensor, first: torch.Tensor, n_images: int, side: int, cutout: int,
                       generator: torch.Generator) -> torch.Tensor:
    """Images ``first`` of a ``pixel_table``, cropped, flipped and cut out: (B, 3, 32, 32) uint8, channels-last."""
    size = side - 2 * PAD
    pixels = table.index_select(0, gather_index(first, n_images, side, cutout, generator))
    return pixels.view(len(first), size, size, 3).permute(0, 3, 1, 2)


def normalization(device: torch.device, h: int = 32, w: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """``normalize``'s (scale, shift) rows for (h, w) images on ``device``; build once, reuse per batch."""
    std, mean = torch.tensor(STD), torch.tensor(MEAN)
    scale, shift = (1.0 / (255.0 * std)).repeat(h * w), (-mean / std).repeat(h * w)
    return scale.to(device), shift.to(device)


def normalize(images: torch.Tensor, constants: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32, as albumentations' Normalize(MEAN, STD) does.

    One multiply-add per element, x / (255*std) - mean/std, done on the channels-last
    buffer viewed as one row per image: broadcasting the per-channel constants along an axis
    of 3 is ~10x slower on the CPU than along a row of H*W*3. The result is channels-last.

    Args:
        constants: ``normalization(device, H, W)``, made once by a caller that normalizes
            every batch: building them here costs a host-to-device copy, which on a GPU makes
            the CPU wait instead of running ahead.
    """
    b, c, h, w = images.shape
    scale, shift = constants if constants is not None else normalization(images.device, h, w)
    nhwc = images.permute(0, 2, 3, 1).contiguous()  # no copy for channels-last batches
    return nhwc.view(b, -1).float().mul_(scale).add_(shift).view(b, h, w, c).permute(0, 3, 1, 2)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Undo ``normalize``: float (B, 3, H, W) -> uint8 (B, H, W, 3), for looking at batches."""
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return ((x.float() * std + mean) * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def augmented_samples(split: Split, n: int = 25, cutout: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training images from every class (``balanced_indices``) after ``train_transform``,
    as uint8, with their labels."""
    transform = train_transform(cutout, seed=seed)
    keep = balanced_indices(split.labels, min(n, len(split)))
    x = torch.stack([transform(image=img)["image"] for img in split.images[keep]])
    return to_uint8(x), split.labels[keep]
