"""Batches for training and testing: DataLoaders over albumentations, or ``DeviceLoader``.

``make_loaders`` picks by ``cfg.augment``. Both kinds of training loader carry their own
random streams (shuffle and augmentations), which ``loader_state`` saves and
``set_loader_state`` restores, so a resumed run replays the epochs it would have trained.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .augment import (PAD, augment_from_table, eval_transform, normalization, normalize, pixel_table, seed_transform,
                      set_transform_state, train_transform, transform_state)
from .config import Config
from .datasets import Cifar10, Split


class AugmentedDataset(Dataset):
    """uint8 images run through an albumentations Compose; yields (float CHW tensor, label)."""

    def __init__(self, split: Split, transform):
        self.split, self.transform = split, transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(image=self.split.images[i])["image"], int(self.split.labels[i])


def seed_worker(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream.

    Workers start as copies of the main process, random state included; without this every
    worker (and, as workers start anew each epoch, every epoch) would replay the same crops,
    flips and holes. ``info.seed`` differs per worker and per epoch, and comes from the
    loader's generator, so a saved generator state replays an epoch exactly.
    """
    info = torch.utils.data.get_worker_info()
    seed = info.seed % 2**32
    np.random.seed(seed)
    random.seed(seed)
    transform = getattr(info.dataset, "transform", None)
    if transform is not None:
        seed_transform(transform, seed)


def default_workers(cfg: Config) -> int:
    return min(8, os.cpu_count() or 1) if cfg.workers is None else cfg.workers


def make_loaders(data: Cifar10, cfg: Config, device: torch.device):
    """(train, test) iterables of (x, y) batches for ``cfg.augment``.

    "albumentations": DataLoaders over ``AugmentedDataset``. "gpu": ``DeviceLoader``s that
    keep the uint8 images on ``device`` and augment whole batches with tensor ops.
    """
    if cfg.augment == "gpu":
        return (
            DeviceLoader(data.train, cfg.batch_size, device, train=True, cutout=cfg.cutout, seed=cfg.seed),
            DeviceLoader(data.test, cfg.batch_size, device, train=False),
        )
    workers = default_workers(cfg)
    common = dict(batch_size=cfg.batch_size, num_workers=workers, pin_memory=device.type == "cuda")
    # Training workers are started anew each epoch (not persistent): their augmentation seeds
    # then come from the loader's generator, so one saved generator state replays an epoch
    # exactly. The test loader draws nothing at random: its workers may stay.
    train = DataLoader(
        AugmentedDataset(data.train, train_transform(cfg.cutout, seed=cfg.seed)),
        shuffle=True,
        generator=torch.Generator().manual_seed(cfg.seed),
        worker_init_fn=seed_worker,
        **common,
    )
    test = DataLoader(AugmentedDataset(data.test, eval_transform()), shuffle=False, persistent_workers=workers > 0,
                      **common)
    return train, test


class DeviceLoader:
    """Batches of a whole split held on ``device`` as uint8, augmented there per batch.

    The same augmentations and distributions as the albumentations path, with no worker
    processes and no host-to-device copies after the first (the normalization constants
    included). Works on the CPU too.
    """

    def __init__(self, split: Split, batch_size: int, device: torch.device, *, train: bool, cutout: int = 8, seed: int = 0):
        self.batch_size, self.train, self.cutout = batch_size, train, cutout
        self.n, images = len(split), split.images
        if train:  # pad once; numpy's "reflect" is cv2's BORDER_REFLECT_101, as in train_transform
            images = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")
        self.side = images.shape[1]
        images = torch.from_numpy(images).to(device)
        self.images = pixel_table(images) if train else images
        self.labels = torch.from_numpy(split.labels).to(device)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.normalization = normalization(device)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        dev = self.labels.device
        order = torch.randperm(self.n, device=dev, generator=self.generator) if self.train else torch.arange(self.n, device=dev)
        for start in range(0, self.n, self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.train:
                x = augment_from_table(self.images, idx, self.n, self.side, self.cutout, self.generator)
            else:
                x = self.images[idx].permute(0, 3, 1, 2)
            yield normalize(x, self.normalization), self.labels[idx]


def loader_state(loader) -> dict:
    """The random streams that decide a training loader's next epoch (shuffle and augmentations)."""
    state = {"generator": loader.generator.get_state()}
    transform = getattr(getattr(loader, "dataset", None), "transform", None)
    if transform is not None:  # main-process augmentations (workers=0); workers reseed from the generator
        state["transform"] = transform_state(transform)
    return state


def set_loader_state(loader, state: dict) -> None:
    loader.generator.set_state(state["generator"])
    transform = getattr(getattr(loader, "dataset", None), "transform", None)
    if transform is not None:
        set_transform_state(transform, state["transform"])

