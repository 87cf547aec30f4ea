import json
import pytest
import torch
from torch import nn

import s11lib.engine as engine
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


class CountedPasses(list):
    """Batches that count how often a pass over them begins."""

    passes = 0

    def __iter__(self):
        self.passes += 1
        return super().__iter__()


@pytest.mark.parametrize("progress", [False, True])
def test_an_epoch_is_one_pass_over_its_loader(progress):
    # tqdm.auto's bar calls iter() on what it wraps: a DataLoader's extra pass forked workers for nothing
    model, cpu = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)), torch.device("cpu")
    batches = CountedPasses(two_batches())
    train_one_epoch(model, batches, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), cpu,
                    progress=progress)
    assert batches.passes == 1


def test_an_epoch_draws_from_its_loaders_generator_what_one_pass_draws():
    data = torch.utils.data.TensorDataset(torch.randn(32, 3, 32, 32), torch.arange(32) % 10)

    def loader():
        return torch.utils.data.DataLoader(data, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(3))

    model, cpu = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)), torch.device("cpu")
    trained, bare = loader(), loader()
    train_one_epoch(model, trained, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), cpu)
    for _ in bare:
        pass
    assert torch.equal(trained.generator.get_state(), bare.generator.get_state())


def test_fit_returns_one_row_per_epoch_and_every_batch_lr():
    torch.manual_seed(0)
    cfg = Config(epochs=3, peak_epoch=1, progress=False)
    run = fit(ResNet9(), two_batches(), two_batches(), cfg, torch.device("cpu"), lr_min=0.01, lr_max=0.1)
    assert [r["epoch"] for r in run["history"]] == [1, 2, 3]
    assert run["lrs"] == pytest.approx([0.01, 0.1, 0.0775, 0.055, 0.0325, 0.01])
    assert [r["lr"] for r in run["history"]] == pytest.approx([0.1, 0.055, 0.01])
    assert set(run["history"][0]) == {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"}


def test_devices_and_precision(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    assert autocast_dtype("bf16", torch.device("cpu")) is torch.bfloat16
    assert autocast_dtype("fp32", torch.device("cpu")) is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without CUDA, wherever this runs
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device cuda was asked for but is not available on this machine"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # and one with it: auto takes it
    assert resolve_device("auto") == torch.device("cuda") == resolve_device("cuda")


@pytest.mark.parametrize("flags, native", [
    ({"avx2", "avx512f", "avx512_bf16"}, "AVX512-BF16"),  # a 2-core AMD EPYC of this project (Zen 4)
    ({"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}, "AMX-BF16"),  # Sapphire Rapids: AMX is the faster of the two
    ({"avx2", "avx512f", "avx512bw"}, None),  # AVX-512 without BF16: bf16 would be emulated
    ({"avx2", "fma"}, None),
])
def test_native_bf16_is_read_off_the_cpu_flags(flags, native):
    assert engine.native_bf16(flags) == native


@pytest.mark.parametrize("native, dtype", [("AVX512-BF16", torch.bfloat16), ("AMX-BF16", torch.bfloat16), (None, None)])
def test_auto_precision_on_the_cpu_is_bf16_only_where_the_cpu_has_it(native, dtype, monkeypatch):
    """The choice follows the CPU, and the note names what was chosen and why (the instructions, or their absence)."""
    monkeypatch.setattr(engine, "cpu_bf16", lambda: native)
    cpu = torch.device("cpu")
    chosen = autocast_dtype("auto", cpu)
    assert chosen is dtype
    what = {None: "fp32", torch.bfloat16: "bf16 autocast"}[chosen]  # what the note must say: what ran
    assert engine.precision_note("auto", cpu) == f"{what} (auto: this CPU has {native or 'no native bf16'})"
    assert autocast_dtype("fp32", cpu) is None and engine.precision_note("fp32", cpu) == "fp32 (asked)"


def test_this_machines_choice_agrees_with_torchs_own_probes():
    """/proc/cpuinfo's flags against torch's CPU probes, an independent reading (on ARM or macOS both say none)."""
    probes = [getattr(torch.cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    assert (engine.cpu_bf16() is not None) == any(probes)
    assert (autocast_dtype("auto", torch.device("cpu")) is torch.bfloat16) == any(probes)


def _healthy():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


@pytest.mark.parametrize("losses, test_loss, poison, expected", [
    ([2.3, 2.1], 2.0, None, None),
    ([2.3, 229.0], 2.0, None, None),  # high, but under the bound
    ([2.3, 5.0e6, 6.7e15], 5.9e25, None, "the training loss reached 5e+06 in epoch 3, batch 2 at LR 0.2, above 230"),
    ([float("nan"), 2.0], 2.0, None, "the training loss became NaN or infinite in epoch 3, batch 1 at LR 0.1"),
    ([2.3, float("inf")], 2.0, None, "the training loss became NaN or infinite in epoch 3, batch 2 at LR 0.2"),
    ([2.3, 2.1], float("nan"), None, "the test loss became NaN or infinite in epoch 3"),
    ([2.3, 2.1], 9.15e4, None, None),  # BatchNorm's statistics after one epoch of the suite's tiny run: it learns on
    ([2.3, 2.1], 2.0, "1.running_var", "a weight or BatchNorm statistic became NaN or infinite in epoch 3"),
    ([2.3, 2.1], 2.0, "0.weight", "a weight or BatchNorm statistic became NaN or infinite in epoch 3"),
])
def test_divergence_is_one_definition(losses, test_loss, poison, expected):
    model = _healthy()
    if poison:
        with torch.no_grad():
            model.state_dict()[poison].view(-1)[0] = float("nan")
    said = engine.divergence(3, torch.tensor(losses), [0.1, 0.2, 0.3], test_loss, model, bound=230.0)
    assert said == expected if expected is None else said.startswith(expected), said


def test_fit_stops_at_the_epoch_that_blew_up_and_keeps_the_ones_before():
    """Epoch 2's loss explodes to finite but absurd values: the run stops there, epoch 1 kept."""
    torch.manual_seed(0)
    kept = []
    with pytest.raises(engine.Diverging, match="the training loss reached .* in epoch 2, batch 1") as e:
        fit(ResNet9(), two_batches(), two_batches(), Config(epochs=3, peak_epoch=1, progress=False, diverged_loss=2.5),
            torch.device("cpu"), lr_min=0.01, lr_max=30.0, on_epoch=kept.append)
    assert e.value.epoch == 2 and [s["epoch"] for s in kept] == [1]


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


def test_a_tiny_bf16_run_on_the_cpu_trains():
    """bf16 autocast on the CPU (what --precision auto picks where the CPU has native bf16): the
    convolutions run in bf16 and a few epochs on two batches lower the loss."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))
    seen = []
    model[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    run = fit(model, two_batches(), two_batches(), Config(epochs=4, peak_epoch=1, progress=False, precision="bf16"),
              torch.device("cpu"), lr_min=0.05, lr_max=0.5)
    assert set(seen) == {torch.bfloat16}
    losses = [r["train_loss"] for r in run["history"]]
    assert losses[-1] < losses[0], losses


def test_the_cpu_trains_channels_last_as_cuda_does():
    """NHWC was faster on every CPU measured, in both precisions (bench/RESULTS.md section 9)."""
    model = engine.build_model(Config(), torch.device("cpu"))
    assert model.prep[0].weight.is_contiguous(memory_format=torch.channels_last)
    x, y = engine._to_device(torch.randn(2, 3, 32, 32), torch.zeros(2, dtype=torch.long), torch.device("cpu"))
    assert x.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("acc, loss, said", [
    (10.0, 2.3026, True), (10.99, 2.5, True), (10.0, 2.30, False),  # a loss below ln 10 learned something
    (11.5, 2.4, False), (93.0, 0.25, False),
])
def test_a_run_at_chance_is_said_to_have_learned_nothing(acc, loss, said):
    warning = engine.at_chance(acc, loss, 10)
    assert (warning is not None) == said
    if said:
        assert warning.startswith(f"the run ended at chance (test accuracy {acc:.2f}%") and "learned nothing" in warning


def test_a_run_at_chance_says_so_in_its_record_and_output(tmp_path, capsys):
    """Every image the same grey, labels 0-9 in turn: no net can tell them apart, so a real run ends at exactly
    10% with a test loss of at least ln 10 (one output for all), and says so in metrics.json and on stderr."""
    import numpy as np

    from conftest import Split, write_image_folder
    from s11lib.cli import main

    def grey(n):
        return Split(np.full((n, 32, 32, 3), 128, np.uint8), np.arange(n, dtype=np.int64) % 10)

    data = write_image_folder(tmp_path / "grey", grey(100), grey(40))
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--min-lr", "0.01", "--max-lr", "0.1",
                 "--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0", "--device", "cpu",
                 "--no-progress"]) == 0
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["test_accuracy"] == 10.0 and m["test_loss"] >= np.log(10) - 1e-6
    assert m["warnings"] == [engine.at_chance(10.0, m["test_loss"], 10)]
    assert f"warning: {m['warnings'][0]}" in capsys.readouterr().err
