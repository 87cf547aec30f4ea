"""Crop offsets, flip and hole position are uniform and independent, on both augmentation paths.

albumentations 2.0.8 gives each child of ``Compose(seed=s)`` its own stream with the same
seed, so the flip replayed the crop's draws (P(flip | crop top <= 4) was 0.89, and 0 for
top >= 5). These tests read every draw back from the augmented image of a coordinate image
and run chi-square tests of uniformity and independence, and of agreement between paths.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from s11lib.augment import MEAN_PIXEL, PAD, augment_batch, to_uint8, train_transform

pytestmark = pytest.mark.xdist_group("augment-draws")  # every path's augmentation draws: made once, in one test process

STEP = 7  # pixel value = 7 * row (channel 0) or 7 * column (channel 1): 0..217, never a fill value
N = 3000


def coordinate_image() -> np.ndarray:
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    return np.stack([rows * STEP, cols * STEP, np.full_like(rows, 200)], -1).astype(np.uint8)


def read_draws(out: np.ndarray) -> tuple[int, int, int, int, int]:
    """(crop top, crop left, flipped, hole top, hole left) of one augmented (32, 32, 3) uint8 image."""
    hole = out[..., 2] == MEAN_PIXEL[2]
    hy, hx = (int(np.flatnonzero(hole.any(1))[0]), int(np.flatnonzero(hole.any(0))[0]))
    r = 8 if not hy <= 8 < hy + 8 else 23  # a row the hole misses; rows 8..23 always come from the image itself
    a, b = int(out[r, 8, 1]) // STEP, int(out[r, 23, 1]) // STEP
    flipped = int(a > b)
    left = a - 4 if not flipped else a - 19
    top = int(out[r, 8, 0]) // STEP - r + PAD
    return top, left, flipped, hy, hx


def albumentations_draws(first_after_seeding: bool) -> np.ndarray:
    img = coordinate_image()
    if first_after_seeding:
        outs = [train_transform(seed=s)(image=img)["image"] for s in range(N)]
    else:
        transform = train_transform(seed=0)
        outs = [transform(image=img)["image"] for _ in range(N)]
    return np.array([read_draws(o) for o in to_uint8(torch.stack(outs))])


def batched_draws(first_after_seeding: bool) -> np.ndarray:
    padded = torch.from_numpy(np.pad(coordinate_image(), ((PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect"))
    if first_after_seeding:
        outs = torch.cat([augment_batch(padded[None], 8, torch.Generator().manual_seed(s)) for s in range(N)])
    else:
        outs = augment_batch(padded.expand(N, -1, -1, -1).contiguous(), 8, torch.Generator().manual_seed(0))
    return np.array([read_draws(o) for o in outs.permute(0, 2, 3, 1).numpy()])


def chi2_critical(df: int, z: float = 3.29) -> float:
    """The chi-square value that a true null exceeds with probability ~0.0005 (Wilson-Hilferty)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def chi2_independence(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    return float(((table - expected) ** 2 / expected).sum()), (table.shape[0] - 1) * (table.shape[1] - 1)


def chi2_uniform(values: np.ndarray, k: int) -> float:
    counts = np.bincount(values, minlength=k)
    assert len(counts) == k, "a value outside 0..k-1"
    expected = len(values) / k
    return float(((counts - expected) ** 2 / expected).sum())


NAMES = ("crop top", "crop left", "flip", "hole top", "hole left")
LEVELS = (2 * PAD + 1, 2 * PAD + 1, 2, 32 - 8 + 1, 32 - 8 + 1)
DRAWS = {"albumentations": albumentations_draws, "batched": batched_draws}


@pytest.fixture(scope="module")
def draws() -> dict:
    return {(path, first): fn(first) for path, fn in DRAWS.items() for first in (True, False)}


@pytest.mark.parametrize("first_after_seeding", [True, False], ids=["across seeds", "along one stream"])
@pytest.mark.parametrize("path", DRAWS)
def test_each_draw_is_uniform_and_the_draws_are_independent(draws, path, first_after_seeding):
    d = draws[path, first_after_seeding]
    for i, (name, k) in enumerate(zip(NAMES, LEVELS)):
        assert chi2_uniform(d[:, i], k) < chi2_critical(k - 1), f"{name} is not uniform"
    for i, j in itertools.combinations(range(len(NAMES)), 2):
        stat, df = chi2_independence(d[:, i], d[:, j])
        assert stat < chi2_critical(df), f"{NAMES[i]} and {NAMES[j]} are not independent (chi2 {stat:.0f}, df {df})"


@pytest.mark.parametrize("path", DRAWS)
def test_draws_of_one_image_do_not_follow_those_of_an_earlier_one(draws, path):
    """Along one stream, each child replaying the same seed made image k's flip a function of
    image k/2's crop; check image k against images k - 1 and k // 2, every pair of draws."""
    d = draws[path, False]
    k = np.arange(2, N)
    for earlier in (k - 1, k // 2):
        for i, j in itertools.product(range(len(NAMES)), repeat=2):
            stat, df = chi2_independence(d[k, i], d[earlier, j])
            assert stat < chi2_critical(df), f"{NAMES[i]} of image k follows {NAMES[j]} of an earlier image"


def test_flip_no_longer_follows_the_crop_in_albumentations(draws):
    d = draws["albumentations", True]
    low, high = d[d[:, 0] <= 4, 2].mean(), d[d[:, 0] >= 5, 2].mean()
    assert abs(low - 0.5) < 0.05 and abs(high - 0.5) < 0.05  # were 0.89 and 0.00


@pytest.mark.parametrize("i", range(len(NAMES)), ids=NAMES)
def test_the_two_paths_draw_from_the_same_marginals(draws, i):
    a, b = draws["albumentations", False][:, i], draws["batched", False][:, i]
    stat, df = chi2_independence(np.r_[np.zeros(N, int), np.ones(N, int)], np.r_[a, b])
    assert stat < chi2_critical(df), f"{NAMES[i]}: chi2 {stat:.0f}, df {df}"
