import pytest
import torch
from torch import nn

from s11lib.config import Config, ConfigError
from s11lib.engine import autocast_dtype, evaluate, fit, make_optimizer, resolve_device, train_one_epoch
from s11lib.model import ResNet9


def two_batches():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, 32, 32, generator=g)
    y = torch.arange(32) % 10
    return [(x[:16], y[:16]), (x[16:], y[16:])]


def test_a_few_steps_on_two_batches_lower_the_loss():
    torch.manual_seed(0)
    model, batches, cpu = ResNet9(), two_batches(), torch.device("cpu")
    optimizer, criterion = make_optimizer(model, Config(), lr=0.05), nn.CrossEntropyLoss()
    before = evaluate(model, batches, criterion, cpu)["loss"]
    for _ in range(5):
        train_one_epoch(model, batches, optimizer, criterion, cpu)
    after = evaluate(model, batches, criterion, cpu)
    assert after["loss"] < before
    assert set(after) == {"loss", "accuracy", "seconds"}


class LeftHalf(nn.Module):
    """Logits from the left half of the image only, so that a mirror image scores differently."""

    def forward(self, x):
        return x[..., :16].mean((2, 3)).repeat(1, 4)[:, :10]


def test_flip_evaluation_scores_the_mean_of_the_logits_of_an_image_and_its_mirror():
    cpu, criterion, model = torch.device("cpu"), nn.CrossEntropyLoss(), LeftHalf()
    x = torch.zeros(4, 3, 1, 32)
    x[:, 0, :, :16], x[:, 1, :, 16:] = 1.0, 3.0  # class 0 on the left, class 1 (stronger) on the right
    y = torch.tensor([0, 1, 1, 1])
    assert evaluate(model, [(x, y)], criterion, cpu)["accuracy"] == 25.0  # the left half alone says 0
    both = evaluate(model, [(x, y)], criterion, cpu, flip=True)
    expected = (model(x) + model(x.flip(3))) / 2
    assert expected[0, :2].tolist() == [0.5, 1.5]  # so the pair says 1
    assert both["accuracy"] == 75.0 and both["loss"] == pytest.approx(criterion(expected, y).item())
    half = torch.randn(4, 3, 8, 16)
    symmetric = torch.cat([half, half.flip(3)], 3)  # its own mirror image: flipping changes nothing
    plain = evaluate(model, [(symmetric, y)], criterion, cpu)
    flipped = evaluate(model, [(symmetric, y)], criterion, cpu, flip=True)
    assert (plain["loss"], plain["accuracy"]) == (flipped["loss"], flipped["accuracy"])


def test_train_one_epoch_reports_the_lr_of_every_batch_and_the_accuracy_it_trained_at():
    torch.manual_seed(0)
    model, batches = ResNet9(), two_batches()
    optimizer = make_optimizer(model, Config(), lr=0.0)  # weights stay put, so the accuracy can be recomputed
    out = train_one_epoch(model, batches, optimizer, nn.CrossEntropyLoss(), torch.device("cpu"))
    assert out["lrs"] == [0.0, 0.0]
    with torch.no_grad():  # train mode: BatchNorm normalizes with each batch's own statistics, as in training
        right = sum(int((model.train()(x).argmax(1) == y).sum()) for x, y in batches)
    assert out["accuracy"] == 100.0 * right / 32


def test_fit_returns_one_row_per_epoch_and_every_batch_lr():
    torch.manual_seed(0)
    cfg = Config(epochs=3, peak_epoch=1, progress=False)
    run = fit(ResNet9(), two_batches(), two_batches(), cfg, torch.device("cpu"), lr_min=0.01, lr_max=0.1)
    assert [r["epoch"] for r in run["history"]] == [1, 2, 3]
    assert run["lrs"] == pytest.approx([0.01, 0.1, 0.0775, 0.055, 0.0325, 0.01])
    assert [r["lr"] for r in run["history"]] == pytest.approx([0.1, 0.055, 0.01])
    assert set(run["history"][0]) == {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"}


def test_devices_and_precision():
    assert resolve_device("cpu") == torch.device("cpu")
    assert autocast_dtype("auto", torch.device("cpu")) is None
    assert autocast_dtype("bf16", torch.device("cpu")) is torch.bfloat16
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="not available"):
            resolve_device("cuda")


def test_training_uses_the_recipes_sgd_nesterov_momentum_and_weight_decay():
    """Smith's recipe: SGD with Nesterov momentum 0.9 and weight decay 5e-4, read from what fit really stepped with."""
    torch.manual_seed(0)
    snapshots = []
    fit(ResNet9(), two_batches(), two_batches()[:1], Config(epochs=2, peak_epoch=1, progress=False),
        torch.device("cpu"), lr_min=0.01, lr_max=0.1, on_epoch=snapshots.append)
    group = snapshots[-1]["optimizer"]["param_groups"][0]
    assert (group["nesterov"], group["momentum"], group["weight_decay"]) == (True, 0.9, 5e-4)
    assert len(group["params"]) == len(list(ResNet9().parameters()))  # every parameter decays, as in Page's net


def test_an_epochs_line_is_printed_only_once_its_checkpoint_holds_it(capsys):
    """An interrupt during the checkpoint write must not leave a printed epoch that was never kept."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))

    def interrupted_while_saving(snapshot):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(model, two_batches(), two_batches(), Config(epochs=2, peak_epoch=1, progress=False), torch.device("cpu"),
            lr_min=0.01, lr_max=0.1, on_epoch=interrupted_while_saving)
    assert "epoch  1/2" not in capsys.readouterr().out
    fit(model, two_batches(), two_batches(), Config(epochs=2, peak_epoch=1, progress=False), torch.device("cpu"),
        lr_min=0.01, lr_max=0.1, on_epoch=lambda snapshot: None)
    assert "epoch  1/2" in capsys.readouterr().out  # the line itself is still printed
