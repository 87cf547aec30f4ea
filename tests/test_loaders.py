"""Loaders: no host-to-device copy per batch on the batched path, persistent test workers, one
augmentation stream that a checkpoint can save and restore."""

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from s11lib.config import Config
from s11lib.datasets import Cifar10
from s11lib.loaders import DeviceLoader, loader_state, make_loaders, set_loader_state


class HostData(TorchFunctionMode):
    """Records every tensor built from host data (Python numbers, lists, numpy arrays), whatever the API:
    on a GPU each one is a host-to-device copy that stalls the loop."""

    MAKERS = {"tensor", "as_tensor", "asarray", "from_numpy", "frombuffer", "new_tensor", "Tensor"}

    def __init__(self):
        super().__init__()
        self.made = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.MAKERS:
            self.made.append(func.__name__)
        return func(*args, **(kwargs or {}))


def test_device_loader_builds_no_tensor_from_host_data_per_batch(tiny, monkeypatch):
    loader = DeviceLoader(tiny[0], 10, torch.device("cpu"), train=True, seed=0)
    test_loader = DeviceLoader(tiny[1], 10, torch.device("cpu"), train=False)
    with HostData() as watch:
        # from_numpy and frombuffer bypass torch-function modes: watch them by hand
        for name in ("from_numpy", "frombuffer"):
            real = getattr(torch, name)
            monkeypatch.setattr(torch, name, lambda *a, _real=real, _name=name, **k: (watch.made.append(_name),
                                                                                     _real(*a, **k))[1])
        batches = list(loader) + list(test_loader)
    assert len(batches) == 10 + 4
    assert watch.made == []


def test_the_test_loaders_workers_persist_and_the_training_ones_do_not(tiny):
    data = Cifar10(*tiny, source="tiny")
    train, test = make_loaders(data, Config(batch_size=20, workers=2), torch.device("cpu"))
    assert test.persistent_workers and not train.persistent_workers  # training workers reseed from the generator
    first, second = [x for x, _ in test], [x for x, _ in test]
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    _, test0 = make_loaders(data, Config(batch_size=20, workers=0), torch.device("cpu"))
    assert not test0.persistent_workers


def test_a_saved_loader_state_replays_the_same_augmentations(tiny):
    data, cfg = Cifar10(*tiny, source="tiny"), Config(batch_size=20, workers=0, seed=3)
    loader, _ = make_loaders(data, cfg, torch.device("cpu"))
    next(iter(loader))
    state = loader_state(loader)
    want = [x for x, _ in loader]
    set_loader_state(loader, state)
    got = [x for x, _ in loader]
    assert all(torch.equal(a, b) for a, b in zip(got, want))
    transform = loader.dataset.transform
    assert all(t.random_generator is transform.random_generator and t.py_random is transform.py_random
               for t in transform.transforms)  # one stream for every child transform
    assert np.asarray(want[0]).shape == (20, 3, 32, 32)
