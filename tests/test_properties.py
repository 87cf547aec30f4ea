"""Property-based checks: config validation never crashes, transforms keep shape, dtype and range."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from s11lib.config import Config, ConfigError
from s11lib.data import MEAN, PAD, STD, augment_batch, normalize, train_transform

LOW = (0 - np.array(MEAN)) / np.array(STD)  # a black pixel, normalized
HIGH = (1 - np.array(MEAN)) / np.array(STD)  # a white pixel, normalized


@given(epochs=st.integers(-3, 30), peak=st.integers(-3, 30), batch=st.integers(-3, 1024),
       lr_min=st.none() | st.floats(-1, 10), lr_max=st.none() | st.floats(-1, 10), subset=st.none() | st.integers(-5, 100))
def test_config_is_valid_or_says_why(epochs, peak, batch, lr_min, lr_max, subset):
    try:
        cfg = Config(epochs=epochs, peak_epoch=peak, batch_size=batch, min_lr=lr_min, max_lr=lr_max, subset=subset)
    except ConfigError as e:
        assert str(e)
        return
    assert 1 <= cfg.peak_epoch < cfg.epochs and cfg.batch_size > 0
    assert cfg.min_lr is None or cfg.max_lr is None or 0 < cfg.min_lr < cfg.max_lr


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (32, 32, 3)))
def test_train_transform_keeps_shape_dtype_and_range(img):
    x = train_transform(seed=0)(image=img)["image"].numpy()
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    assert (x >= LOW[:, None, None] - 1e-5).all() and (x <= HIGH[:, None, None] + 1e-5).all()


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (3, 32 + 2 * PAD, 32 + 2 * PAD, 3)), st.integers(0, 2**31))
def test_batched_augment_keeps_shape_dtype_and_range(padded, seed):
    out = augment_batch(torch.from_numpy(padded), 8, torch.Generator().manual_seed(seed))
    assert out.shape == (3, 3, 32, 32) and out.dtype == torch.uint8
    x = normalize(out)
    assert x.dtype == torch.float32
    assert (x >= torch.tensor(LOW).view(1, 3, 1, 1) - 1e-5).all() and (x <= torch.tensor(HIGH).view(1, 3, 1, 1) + 1e-5).all()
