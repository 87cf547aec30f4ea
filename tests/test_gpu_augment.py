"""The batched (``--augment gpu``) path draws from the same distribution as the albumentations one."""

import albumentations as A
import numpy as np
import torch

from s11lib.augment import MEAN_PIXEL, PAD, augment_batch, eval_transform, normalize, train_transform
from s11lib.loaders import DeviceLoader

N = 4000


def coordinate_images(n: int) -> torch.Tensor:
    """Padded 40x40 images whose channel 0 holds the row and channel 1 the column of each pixel."""
    size = 32 + 2 * PAD
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    img = torch.stack([rows, cols, torch.full_like(rows, 200)], -1).to(torch.uint8)
    return img.expand(n, -1, -1, -1).contiguous()


def test_crop_offsets_cover_0_to_8_and_flip_half_the_time():
    out = augment_batch(coordinate_images(N), cutout=0, generator=torch.Generator().manual_seed(0))
    assert out.shape == (N, 3, 32, 32) and out.dtype == torch.uint8
    top = out[:, 0, 0, 0]
    left = torch.minimum(out[:, 1, 0, 0], out[:, 1, 0, 31])
    assert sorted(top.unique().tolist()) == list(range(9))
    assert sorted(left.unique().tolist()) == list(range(9))
    # every crop is a contiguous 32x32 window, read forwards or backwards
    torch.testing.assert_close(out[:, 0, :, 0] - top[:, None], torch.arange(32, dtype=torch.uint8).expand(N, -1))
    flipped = out[:, 1, 0, 0] > out[:, 1, 0, 31]
    assert 0.46 < flipped.float().mean().item() < 0.54


def test_albumentations_crops_cover_the_same_offsets():
    pad_and_crop = A.Compose(train_transform(cutout=8, seed=0).transforms[:2], seed=0)
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, :, 0] = np.arange(32)[:, None] * 7  # row index, readable through the reflection
    tops = set()
    for _ in range(300):
        rows = pad_and_crop(image=img)["image"][:2, 0, 0].astype(int) // 7
        tops.add(int(rows[0]) + 4 if rows[1] > rows[0] else 4 - int(rows[0]))  # reflected rows run backwards
    assert tops == set(range(2 * PAD + 1))


def test_exactly_one_8x8_hole_filled_with_the_mean():
    black = torch.zeros(N, 32 + 2 * PAD, 32 + 2 * PAD, 3, dtype=torch.uint8)
    out = augment_batch(black, cutout=8, generator=torch.Generator().manual_seed(1))
    hole = (out == torch.tensor(MEAN_PIXEL, dtype=torch.uint8).view(1, 3, 1, 1)).all(1)  # (N, 32, 32)
    assert (hole.sum((1, 2)) == 64).all()
    rows, cols = hole.any(2).float(), hole.any(1).float()
    assert (rows.sum(1) == 8).all() and (cols.sum(1) == 8).all()  # one square, not scattered pixels
    corners = rows.argmax(1)
    assert sorted(corners.unique().tolist()) == list(range(25))  # fully inside, anywhere (as CoarseDropout)


def test_device_loader_test_batches_equal_the_albumentations_test_transform(tiny):
    test = tiny[1]
    (x, y), = list(DeviceLoader(test, 1000, torch.device("cpu"), train=False))
    want = torch.stack([eval_transform()(image=img)["image"] for img in test.images])
    torch.testing.assert_close(x, want, atol=1e-5, rtol=1e-5)
    assert torch.equal(y, torch.from_numpy(test.labels))


def test_device_loader_train_epochs_differ_and_cover_every_image(tiny):
    loader = DeviceLoader(tiny[0], 30, torch.device("cpu"), train=True, seed=0)
    assert len(loader) == 4
    e1, e2 = list(loader), list(loader)
    assert sorted(torch.cat([y for _, y in e1]).tolist()) == sorted(tiny[0].labels.tolist())
    assert not torch.equal(e1[0][0], e2[0][0])
    assert e1[0][0].shape == (30, 3, 32, 32) and e1[0][0].dtype == torch.float32


def test_normalize_matches_albumentations_normalize():
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    want = eval_transform()(image=img)["image"]
    got = normalize(torch.from_numpy(img).permute(2, 0, 1)[None])[0]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
