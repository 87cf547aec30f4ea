"""s11lib: ResNet-9 on CIFAR-10 with Leslie Smith's one-cycle (super-convergence) recipe.

One call per job, the same jobs as the command line (``s11 train``, ``s11 find-lr``, ``s11 sweep``)::

    import s11lib
    metrics = s11lib.train(out="runs/a", epochs=24)             # any Config field: max_lr=0.4, augment="gpu", ...
    pair = s11lib.find_lr(out="runs/lr")                        # {"lr_min", "lr_max", "trusted", "note"}
    rows = s11lib.sweep(out="runs/sweep", max_lr=[0.1, 0.4])    # one row per run, as sweep.csv
    preds = s11lib.predict("runs/a", ["cat.jpg"])               # top 3 classes and GradCAM, per image

Bad input raises ``s11lib.config.InputError`` (a ValueError) with the message the command line
prints. Importing s11lib imports neither torch nor anything heavy: a call does.
"""

from pathlib import Path as _Path

from ._meta import version as _version  # light: the standard library only

__all__ = ["__version__", "find_lr", "predict", "sweep", "train"]

__version__ = _version()


def train(out: str | _Path, *, overwrite: bool = False, **fields) -> dict:
    """Train the recipe into ``out``, as ``s11 train --out OUT``: the range test (unless both LRs are
    given), one cycle, the figures and GradCAM; returns metrics.json's content.

    Args:
        out: the run's folder (refused when it holds a run, unless ``overwrite``).
        **fields: any ``s11lib.config.Config`` field (``epochs=24``, ``max_lr=0.4``, ``data="cifar.tar.gz"``, ...).
    """
    from .commands import api_call, cmd_train
    from .config import Config

    return api_call(cmd_train, Config.from_dict(fields), _Path(out), overwrite=overwrite)


def find_lr(out: str | _Path, *, overwrite: bool = False, **fields) -> dict:
    """The LR range test alone into ``out``, as ``s11 find-lr``; returns {"lr_min", "lr_max", "trusted", "note"}."""
    from .commands import api_call, cmd_find_lr
    from .config import Config

    search = api_call(cmd_find_lr, Config.from_dict(fields), _Path(out), overwrite=overwrite)
    return {"lr_min": search.lr_min, "lr_max": search.lr_max, "trusted": search.trusted, "note": search.note}


def sweep(out: str | _Path, *, max_lr=None, schedule=None, epochs=None, repeat: int = 1, found: bool = True,
          overwrite: bool = False, max_runs: int | None = None, ray: str | None = None, ray_gpus: float = 1.0,
          ray_cpus: float = 2.0, ray_timeout: float | None = None, **fields) -> list[dict]:
    """A grid of schedules x LRMAX x epochs (x ``repeat`` seeds) beside one cycle at the found pair, as
    ``s11 sweep``; returns the rows (sweep.csv's). ``ray="auto"`` (or an address, or "local") runs
    each run as a Ray task. The lists default to the preset (``s11lib.sweep_plan.PRESET``).

    Raises:
        s11lib.sweep_report.NothingMeasured: every run failed.
    """
    from .commands import api_call, cmd_sweep
    from .sweep_plan import PRESET

    given = {"max_lr": max_lr, "schedule": schedule, "epochs": epochs}
    lists = {k: list(PRESET[k] if v is None else [v] if isinstance(v, (int, float, str)) else v)
             for k, v in given.items()}
    return api_call(cmd_sweep, fields, _Path(out), lists, seeds=repeat, found=found, overwrite=overwrite,
                    max_runs=max_runs, ray=ray, ray_gpus=ray_gpus, ray_cpus=ray_cpus, ray_timeout=ray_timeout)


def predict(run: str | _Path, images, *, top: int = 3, device: str = "auto") -> list:
    """The trained net of ``run`` (a run folder or its checkpoint.pt) on your own image files (any size: the
    centre square, resized to 32x32): per image a ``s11lib.inference.Prediction`` with ``top`` (the top
    classes with probabilities) and ``gradcam`` (the top class's map), as ``s11 predict`` prints and draws."""
    from .commands import api_call
    from .inference import predict as predict_images

    return api_call(predict_images, _Path(run), images, top=top, device=device)
