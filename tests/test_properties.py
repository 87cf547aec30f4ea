"""Property-based checks: config validation names what it refuses; augmentations only move pixels."""

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from s11lib.augment import MEAN_PIXEL, PAD, augment_batch, to_uint8, train_transform
from s11lib.config import Config, ConfigError


@given(epochs=st.integers(-3, 30), peak=st.integers(-3, 30), batch=st.integers(-3, 1024),
       lr_min=st.none() | st.floats(-1, 10) | st.sampled_from([float("nan"), float("inf")]),
       lr_max=st.none() | st.floats(-1, 10) | st.sampled_from([float("nan"), float("-inf")]),
       subset=st.none() | st.integers(-5, 100), iters=st.none() | st.integers(-2, 8))
def test_config_is_valid_or_names_the_setting_at_fault(epochs, peak, batch, lr_min, lr_max, subset, iters):
    try:
        cfg = Config(epochs=epochs, peak_epoch=peak, batch_size=batch, min_lr=lr_min, max_lr=lr_max, subset=subset,
                     finder_iters=iters)
    except ConfigError as e:
        named = [flag for flag in ("epochs", "peak-epoch", "batch-size", "min-lr", "max-lr", "subset", "finder-iters")
                 if str(e).startswith(flag) or f"({flag}" in str(e) or f" {flag}" in str(e)]
        assert named, str(e)
        return
    assert 1 <= cfg.peak < cfg.epochs and cfg.batch_size > 0
    lrs_given = cfg.min_lr is not None and cfg.max_lr is not None  # no range test runs: finder-iters is not read
    assert cfg.finder_iters is None or cfg.finder_iters >= 5 or lrs_given
    assert cfg.min_lr is None or cfg.max_lr is None or 0 < cfg.min_lr < cfg.max_lr
    for lr in (cfg.min_lr, cfg.max_lr):
        assert lr is None or math.isfinite(lr)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (32, 32, 3), elements=st.integers(0, 255)))
def test_train_transform_only_moves_pixels_and_adds_the_mean(img):
    """Pad, crop and flip never invent a pixel: every output pixel is one of the image's, or the cutout fill."""
    x = train_transform(seed=0)(image=img)["image"]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    pixels = {tuple(p) for p in img.reshape(-1, 3)} | {MEAN_PIXEL}
    assert {tuple(p) for p in to_uint8(x[None]).reshape(-1, 3)} <= pixels


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (3, 32 + 2 * PAD, 32 + 2 * PAD, 3), elements=st.integers(0, 255)), st.integers(0, 2**31))
def test_batched_augment_only_moves_pixels_and_adds_the_mean(padded, seed):
    out = augment_batch(torch.from_numpy(padded), 8, torch.Generator().manual_seed(seed))
    assert out.shape == (3, 3, 32, 32) and out.dtype == torch.uint8
    for image, result in zip(padded, out.permute(0, 2, 3, 1).numpy()):
        pixels = {tuple(p) for p in image.reshape(-1, 3)} | {MEAN_PIXEL}
        assert {tuple(p) for p in result.reshape(-1, 3)} <= pixels
        assert (result == MEAN_PIXEL).all(-1).sum() >= 64  # the hole
