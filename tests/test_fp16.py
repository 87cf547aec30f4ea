"""The fp16 path that Colab's T4 takes (``--precision auto`` picks fp16 there, where bf16 is slow),
run on the CPU below the CLI on a tiny model and batch: autocast in fp16 and the GradScaler's
scale, unscale, skipped step on inf and update, in training and in the range test."""

import pytest
import torch
from torch import nn

import s11lib.engine as engine
from s11lib.config import Config
from s11lib.engine import fit, train_one_epoch
from s11lib.lr_finder import range_test

CPU = torch.device("cpu")


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))


def batches(n: int = 1):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(16, 3, 32, 32, generator=g), torch.arange(16) % 10) for _ in range(n)]


def step(model: nn.Module, **precision) -> torch.optim.SGD:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_one_epoch(model, batches(), optimizer, nn.CrossEntropyLoss(), CPU, **precision)
    return optimizer


def test_an_fp16_step_divides_the_scale_out_before_it_updates_the_weights():
    fp32, fp16 = tiny_model(), tiny_model()
    step(fp32)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    step(fp16, dtype=torch.float16, scaler=scaler)
    moved = max((a - b).abs().max().item() for a, b in zip(fp16.parameters(), tiny_model().parameters()))
    assert moved > 1e-3  # the step was taken...
    for a, b in zip(fp16.parameters(), fp32.parameters()):  # ...as far as fp32's, not 1024 times as far
        assert torch.allclose(a, b, atol=2e-4), (a - b).abs().max()
    assert scaler.get_scale() == 2.0**10  # finite gradients: the scale stays (it grows after 2000 such steps)


def test_an_overflowing_fp16_step_is_skipped_and_the_scale_backs_off():
    model, untouched = tiny_model(), tiny_model()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**60)  # the scaled gradients overflow fp16 (max 65504)
    step(model, dtype=torch.float16, scaler=scaler)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), untouched.parameters()))
    assert scaler.get_scale() == 2.0**59


class CountingScaler(torch.amp.GradScaler):
    """A GradScaler that counts what it was asked to do, and remembers every instance."""

    made: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = {"scale": 0, "step": 0, "update": 0}
        CountingScaler.made.append(self)

    def scale(self, outputs):
        self.calls["scale"] += 1
        return super().scale(outputs)

    def step(self, optimizer, *args, **kwargs):
        self.calls["step"] += 1
        return super().step(optimizer, *args, **kwargs)

    def update(self, new_scale=None):
        self.calls["update"] += 1
        return super().update(new_scale)


@pytest.fixture
def counting_scaler(monkeypatch):
    CountingScaler.made = []
    monkeypatch.setattr(torch.amp, "GradScaler", CountingScaler)
    return CountingScaler.made


def test_fit_in_fp16_trains_every_batch_through_one_grad_scaler(counting_scaler):
    cfg = Config(epochs=2, peak_epoch=1, precision="fp16", progress=False)
    run = fit(tiny_model(), batches(2), batches(1), cfg, CPU, lr_min=0.01, lr_max=0.1)
    assert len(counting_scaler) == 1 and counting_scaler[0].is_enabled()
    assert counting_scaler[0].calls == {"scale": 4, "step": 4, "update": 4}  # 2 epochs x 2 batches
    assert len(run["history"]) == 2
    fit(tiny_model(), batches(2), batches(1), Config(epochs=2, peak_epoch=1, precision="bf16", progress=False), CPU,
        lr_min=0.01, lr_max=0.1)
    assert len(counting_scaler) == 1  # bf16 has fp32's range: no scaler


def test_the_range_test_in_fp16_steps_through_an_enabled_grad_scaler_and_restores_the_model(counting_scaler):
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    rt = range_test(model, optimizer, nn.CrossEntropyLoss(), batches(6), CPU, num_iter=6,
                    autocast_dtype=torch.float16)
    assert len(rt.lrs) == len(rt.losses) == 6
    assert len(counting_scaler) == 1 and counting_scaler[0].is_enabled()
    assert counting_scaler[0].calls == {"scale": 6, "step": 6, "update": 6}
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert engine.autocast_dtype("fp16", CPU) is torch.float16
