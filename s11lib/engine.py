"""Training and evaluation loops. They return plain data; the caller keeps the history."""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import voice
from .config import Config, ConfigError
from .model import ResNet9
from .schedule import scheduler as lr_scheduler

POSTFIX_SECONDS = 0.5  # refresh the progress bar's numbers at most this often (each refresh syncs the GPU)


class Diverging(RuntimeError):
    """The run blew up in ``epoch``; the message (``divergence``'s) says how and where."""

    def __init__(self, message: str, epoch: int):
        self.epoch = epoch
        super().__init__(message)


def divergence(epoch: int, batch_losses: torch.Tensor, lrs: list[float], test_loss: float, model: nn.Module,
               bound: float) -> str | None:
    """The one definition of a run that blew up, read once an epoch (one wait for the device, not one a batch).

    A run has diverged when a training batch's loss is NaN or infinite or above ``bound`` (a
    loss no run that learns reaches: ``Config.diverged_loss``), when the test loss is NaN or
    infinite, or when a weight or BatchNorm statistic is. A finite test loss above ``bound`` is not
    divergence: BatchNorm's running statistics can put a run that learns there for an epoch (90,000
    after epoch 1 of 2 on the suite's tiny data, then learning); ``at_chance`` reads where a run ends. A blown-up net can keep finite but
    absurd losses for epochs (5e6, then 7e15 on the real data at LR 50) and score a uniform 10%.

    Args:
        batch_losses: the epoch's training loss of each batch, on the device.
        lrs: the LR of each batch.

    Returns:
        What happened and where; None when the run is healthy.
    """
    state = [t for t in model.state_dict().values() if t.is_floating_point()]
    bad = ~torch.isfinite(batch_losses) | (batch_losses > bound)
    bad_batch, weights_finite = torch.stack([bad.any(), torch.stack([torch.isfinite(t).all() for t in state]).all()]).tolist()
    if bad_batch:
        i = int(bad.nonzero()[0])
        value, where = float(batch_losses[i]), f"in epoch {epoch}, batch {i + 1} at LR {lrs[i]:.4g}"
        if not math.isfinite(value):
            return f"the training loss became NaN or infinite {where}"
        return f"the training loss reached {value:.3g} {where}, above {bound:g}, which no run that learns reaches"
    if not math.isfinite(test_loss):
        return f"the test loss became NaN or infinite in epoch {epoch}"
    if not weights_finite:
        return f"a weight or BatchNorm statistic became NaN or infinite in epoch {epoch}"
    return None


def at_chance(test_acc: float, test_loss: float, classes: int = 10) -> str | None:
    """A run that ended where a uniform guess stands, learning nothing: test accuracy within a point of
    100/classes and a test loss no lower than a uniform guess's, ln(classes) (a typed pair of 1 / 2 ended
    at 10.00% and a test loss of 1,163). Said, not refused: on tiny or random data it can be the truth."""
    if test_acc <= 100 / classes + 1 and test_loss >= math.log(classes):
        return (f"the run ended at chance (test accuracy {test_acc:.2f}%, test loss {test_loss:.3g}, no better than "
                f"guessing among {classes} classes): it learned nothing; try lower LRs")
    return None


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" -> cuda, then mps, then cpu; a named device that is not there is an error."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if name == "auto":
        return torch.device(next(d for d in ("cuda", "mps", "cpu") if has[d]))
    if name not in has:
        raise ConfigError(f"unknown device {name!r}; use auto, cuda, mps or cpu")
    if not has[name]:
        raise ConfigError(f"device {name} was asked for but is not available on this machine; use {voice.setting('device', 'auto')} or 'cpu'")
    return torch.device(name)


NATIVE_BF16 = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16"}  # x86 CPU flag -> the instructions it names


def native_bf16(flags: Iterable[str]) -> str | None:
    """Which instructions give a CPU with these feature flags (``/proc/cpuinfo``'s) native bf16
    matrix math, AMX-BF16 first; None when it has neither and bf16 would be emulated in fp32."""
    flags = set(flags)
    return next((name for flag, name in NATIVE_BF16.items() if flag in flags), None)


def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags: ``/proc/cpuinfo`` on Linux; elsewhere what torch's CPU probes say."""
    try:
        with open("/proc/cpuinfo") as f:
            return frozenset(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        probes = {"avx512_bf16": "_is_avx512_bf16_supported", "amx_bf16": "_is_amx_tile_supported"}
        return frozenset(flag for flag, probe in probes.items() if getattr(torch.cpu, probe, lambda: False)())


@functools.lru_cache(maxsize=1)
def cpu_bf16() -> str | None:
    """The instructions that give this CPU native bf16 ("AMX-BF16", "AVX512-BF16"), or None."""
    return native_bf16(cpu_flags())


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain fp32.

    "auto" is bf16 on CUDA chips with bf16 tensor cores (Ampere, compute capability 8, and
    later), fp16 with a grad scaler on older ones such as Colab's T4 (where
    ``torch.cuda.is_bf16_supported()`` can say yes because bf16 is emulated, slowly); bf16 on a
    CPU with native bf16 (``cpu_bf16``; about twice fp32's speed on a 2-core AMD EPYC with
    AVX512-BF16, bench/RESULTS.md section 9), fp32 on other CPUs, where bf16 is emulated and
    slower than fp32 (``bench/cpu_precision.py``, the same section), and on MPS.
    """
    if precision == "auto":
        if device.type == "cpu":
            return torch.bfloat16 if cpu_bf16() else None
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def precision_note(precision: str, device: torch.device) -> str:
    """What a run computes in, and why: "bf16 autocast (auto: this CPU has AVX512-BF16)", "fp32 (asked)", ..."""
    dtype = autocast_dtype(precision, device)
    what = {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[dtype]
    if precision != "auto":
        return f"{what} (asked)"
    if device.type == "cpu":
        has = cpu_bf16()
        return f"{what} (auto: this CPU has {has})" if has else f"{what} (auto: this CPU has no native bf16)"
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        return f"{what} (auto: CUDA compute capability {major}.{minor})"
    return f"{what} (auto: {device.type})"


def start_run(cfg: Config) -> torch.device:
    """Process-wide switches for a run, set once where it starts; returns the device.

    Quiets albumentations' update check (it phones home when first imported), turns on cuDNN
    autotuning on CUDA (the batch shape is fixed, so the fastest kernels are found once) and
    seeds the global streams.
    """
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    device = resolve_device(cfg.device)
    if cfg.precision == "fp16" and device.type == "cpu":
        raise ConfigError("precision fp16 on the CPU has no fast kernels (an epoch took 190x as long as fp32 when "
                          f"measured: 358 s against 2.7 s on 200 images); use {voice.setting('precision', 'auto')} or 'fp32'")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    seed_everything(cfg.seed)
    return device


def show_progress(cfg: Config) -> bool:
    """Progress bars when asked (``cfg.progress``), or by default when they go to a terminal:
    redirected to a file they would fill it with carriage-return updates."""
    return cfg.progress if cfg.progress is not None else sys.stderr.isatty()


def seed_everything(seed: int) -> None:
    """Seed torch and numpy's global streams (model initialisation; loaders carry their own)."""
    torch.manual_seed(seed)
    np.random.seed(seed)


def channels_last(device: torch.device) -> bool:
    """Whether images and weights go NHWC on ``device``: on CUDA (the fast layout on tensor cores) and on the
    CPU, where oneDNN's NHWC kernels were faster in both precisions wherever measured (bench/RESULTS.md
    section 9: 57.8 -> 67.5 img/s fp32 on a 2-core AMD EPYC with AVX2, and on one with AVX512-BF16 in both
    precisions)."""
    return device.type in ("cuda", "cpu")


def build_model(cfg: Config, device: torch.device) -> ResNet9:
    """A fresh ResNet-9 on ``device``, channels-last where that is faster (``channels_last``)."""
    model = ResNet9(logit_scale=cfg.logit_scale).to(device)
    if channels_last(device):
        model = model.to(memory_format=torch.channels_last)
    return model


def make_optimizer(model: nn.Module, cfg: Config, lr: float) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0,
                           weight_decay=cfg.weight_decay)


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def _to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device):
    x = x.to(device, non_blocking=True)
    if channels_last(device):
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer, criterion: nn.Module,
                    device: torch.device, *, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                    dtype: torch.dtype | None = None, scaler: torch.amp.GradScaler | None = None,
                    progress: bool = False, desc: str = "train") -> dict:
    """One pass over ``loader`` (a DataLoader, a ``DeviceLoader``, a list: it has a len), stepping
    ``scheduler`` after every batch.

    Returns:
        {"loss", "accuracy" (percent), "lrs" (the LR each batch was trained at), "batch_losses" (each
        batch's loss, a tensor on the device, for ``divergence``), "seconds"}; "seconds" is the loop's
        wall time, read after the ``.item()`` that ends it has waited for the device: training
        alone, as the peer's time is (bench/RESULTS.md, "How the two sides are timed").
    """
    model.train()
    start = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, lrs, losses, shown = 0, [], [], start
    # The bar counts batches and never touches the loader: tqdm.auto calls iter() on what it wraps, which
    # would begin a second, unused pass over the loader each epoch (forked workers, a draw from its
    # generator; bench/RESULTS.md section 24).
    with tqdm(total=len(loader), desc=desc, leave=False, disable=not progress, dynamic_ncols=True) as bar:
        for x, y in loader:
            x, y = _to_device(x, y, device)
            lrs.append(optimizer.param_groups[0]["lr"])
            with _autocast(device, dtype):
                out = model(x)
                loss = criterion(out, y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.detach().float() * len(y)
            correct += (out.detach().argmax(1) == y).sum()
            losses.append(loss.detach().float())
            seen += len(y)
            bar.update()
            if progress and time.perf_counter() - shown > POSTFIX_SECONDS:
                shown = time.perf_counter()
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{100 * correct.item() / seen:.1f}",
                                lr=f"{lrs[-1]:.3g}")
    return {"loss": loss_sum.item() / seen, "accuracy": 100.0 * correct.item() / seen, "lrs": lrs,
            "batch_losses": torch.stack(losses), "seconds": time.perf_counter() - start}


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, criterion: nn.Module, device: torch.device, *,
             dtype: torch.dtype | None = None, flip: bool = False, keep_outputs: bool = False) -> dict:
    """Mean loss and accuracy (percent) over ``loader`` in eval mode: {"loss", "accuracy", "seconds"}.

    ``flip=True`` is test-time augmentation: each image is scored by the mean of the logits
    for it and for its mirror image (the one augmentation that keeps a test image whole).
    ``keep_outputs=True`` adds "outputs": per image, in the loader's order, numpy arrays
    "preds" (predicted class), "probs" (its softmax probability) and "losses" (cross-entropy),
    for ``mistakes.py``, from this same pass and precision. The model's train/eval mode is
    restored afterwards.
    """
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, kept = 0, []
    for x, y in loader:
        x, y = _to_device(x, y, device)
        with _autocast(device, dtype):
            out = model(x)
            if flip:
                out = (out + model(x.flip(3))) / 2
            loss = criterion(out, y)
        loss_sum += loss.float() * len(y)
        pred = out.argmax(1)
        correct += (pred == y).sum()
        seen += len(y)
        if keep_outputs:
            logits = out.float()
            kept.append(torch.stack([pred.float(), logits.softmax(1).amax(1),
                                     nn.functional.cross_entropy(logits, y, reduction="none")]))
    model.train(was_training)
    result = {"loss": loss_sum.item() / seen, "accuracy": 100.0 * correct.item() / seen,
              "seconds": time.perf_counter() - start}
    if keep_outputs:
        preds, probs, losses = torch.cat(kept, 1).cpu().numpy()
        result["outputs"] = {"preds": preds.astype(np.int64), "probs": probs, "losses": losses}
    return result


def flip_tta_accuracy(model: nn.Module, loader: Iterable, cfg: Config, device: torch.device) -> float:
    """Test accuracy (percent) of ``model`` scored with flip TTA, in ``cfg``'s precision."""
    dtype = autocast_dtype(cfg.precision, device)
    return evaluate(model, loader, nn.CrossEntropyLoss(), device, dtype=dtype, flip=True)["accuracy"]


def fit(model: nn.Module, train_loader: Iterable, test_loader: Iterable, cfg: Config, device: torch.device, *,
        lr_min: float, lr_max: float, on_epoch: Callable[[dict], None] | None = None,
        resume: dict | None = None) -> dict:
    """The run: ``cfg.epochs`` epochs under ``cfg.schedule``; the recipe's one cycle takes the LR lr_min ->
    lr_max (end of epoch ``cfg.peak``) -> lr_min.

    Prints one line per epoch (and progress bars with ``cfg.progress``).

    Args:
        on_epoch: called after each epoch with a snapshot {"epoch", "history", "lrs",
            "optimizer", "scheduler", "train_seconds", "eval_seconds"} (state dicts), for checkpoints.
        resume: such a snapshot; training continues after its epoch (the caller restores the
            model's weights and the random states). A snapshot of the last epoch trains nothing and
            scores the test set once, for "test_outputs".

    Returns:
        {"history": [per-epoch rows], "lrs": [LR of every batch], "train_seconds", "eval_seconds",
        "test_outputs" (the last evaluation's per-image outputs, see ``evaluate``)}; a row is
        {"epoch", "lr" (at the epoch's last batch), "train_loss", "train_acc", "test_loss",
        "test_acc", "seconds" (train + test of that epoch)}.

    Raises:
        Diverging: the epoch blew up (``divergence``); the epochs before it are kept.
    """
    dtype = autocast_dtype(cfg.precision, device)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(model, cfg, lr_min)
    scheduler = lr_scheduler(optimizer, cfg.schedule, epochs=cfg.epochs, steps_per_epoch=len(train_loader),
                             peak_epoch=cfg.peak, lr_min=lr_min, lr_max=lr_max)
    net = torch.compile(model) if cfg.compile else model
    state = {"epoch": 0, "history": [], "lrs": [], "train_seconds": 0.0, "eval_seconds": 0.0}
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        state = {k: resume[k] for k in state}
    history, lrs = list(state["history"]), list(state["lrs"])
    train_seconds, eval_seconds = state["train_seconds"], state["eval_seconds"]
    for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
        tr = train_one_epoch(net, train_loader, optimizer, criterion, device, scheduler=scheduler, dtype=dtype,
                             scaler=scaler, progress=show_progress(cfg), desc=f"epoch {epoch}/{cfg.epochs}")
        te = evaluate(net, test_loader, criterion, device, dtype=dtype, keep_outputs=epoch == cfg.epochs)
        blown = divergence(epoch, tr["batch_losses"], tr["lrs"], te["loss"], model, cfg.diverged_loss)
        if blown is not None:  # before the epoch is kept: a checkpoint never holds a diverged epoch
            raise Diverging(blown, epoch)
        train_seconds += tr["seconds"]
        eval_seconds += te["seconds"]
        lrs += tr["lrs"]
        row = {"epoch": epoch, "lr": tr["lrs"][-1], "train_loss": tr["loss"], "train_acc": tr["accuracy"],
               "test_loss": te["loss"], "test_acc": te["accuracy"], "seconds": tr["seconds"] + te["seconds"]}
        history.append(row)
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "history": history, "lrs": lrs, "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "train_seconds": train_seconds, "eval_seconds": eval_seconds})
        tqdm.write(format_row(row, cfg.epochs))  # once the checkpoint holds the epoch: a line shown is a line kept
    if state["epoch"] == cfg.epochs:  # a resume of a run that had trained every epoch: score it once more
        te = evaluate(net, test_loader, criterion, device, dtype=dtype, keep_outputs=True)
    return {"history": history, "lrs": lrs, "train_seconds": train_seconds, "eval_seconds": eval_seconds,
            "test_outputs": te["outputs"]}


def format_row(row: dict, epochs: int) -> str:
    return (f"epoch {row['epoch']:>2}/{epochs}  lr {row['lr']:.4g}  train loss {row['train_loss']:.3f} "
            f"acc {row['train_acc']:5.2f}%  test loss {row['test_loss']:.3f} acc {row['test_acc']:5.2f}%  "
            f"{row['seconds']:.1f}s")
