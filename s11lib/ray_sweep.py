"""A sweep's runs as Ray tasks (issue 25): the same ``sweep.run_point`` per (point, seed), one
task each, on a cluster or on a Ray started here for the sweep; the files of each finished run
come back to the driver and land in the same OUT layout as a local sweep's, so sweep.csv, the
figures, ``summary`` and a rerun work the same whichever way the runs ran.

Ray is the engine the PyTorch world already uses for this (under Ray Tune and Ray Train); it is
optional: ``pip install -r requirements-dev.txt`` brings it, Colab users never need it.
"""

from __future__ import annotations

import socket
import tempfile
import traceback
from pathlib import Path

from .config import Config, ConfigError, Interrupted
from .outputs import LOCK
from .sweep import Point, base_row, kept_row, run_point, saved_pair

RETRIES = 2  # a task lost with its worker or node (a crash, out of memory) runs again this often, then is a failed row
INSTALL = "pip install 'ray>=2.31'"
PACKAGE = Path(__file__).resolve().parent  # shipped to every node (runtime_env py_modules): no shared disk assumed


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"sweep --ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def _point_task(cfg: dict, found: bool, seed: int) -> tuple[dict, dict[str, bytes]]:
    """On a worker: one run into a folder of its own; returns its row and its files (path -> bytes)."""
    point = Point(Config.from_dict(cfg), found)
    with tempfile.TemporaryDirectory() as tmp:
        row = run_point(point, seed, Path(tmp), host=socket.gethostname())
        return row, _files(Path(tmp))


def _find_task(cfg: dict) -> dict[str, bytes]:
    """On a worker: the range test for the found points; returns lr_finder.json and lr_finder.png."""
    from .datasets import load_cifar10
    from .sweep import find_pair

    base = Config.from_dict(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        find_pair(base, load_cifar10(base.data, data_dir=base.data_dir, subset=base.subset), Path(tmp))
        return _files(Path(tmp))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != LOCK}


def _land(out: Path, files: dict[str, bytes]) -> None:
    """Write a task's files under ``out`` as they arrive (each run's alone is held in memory)."""
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def failure(error: BaseException) -> str:
    """One line for a failed task: the exception the point raised, or what Ray says of a lost worker."""
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, BaseException) and str(cause):
        return f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1]}"
    return traceback.format_exception_only(type(error), error)[-1].strip().splitlines()[-1]


class RayRunner:
    """Runs a sweep's range test and runs as Ray tasks: one GPU each where the cluster has GPUs,
    ``cpus`` CPUs each where it has none."""

    def __init__(self, address: str = "local", *, gpus: float = 1.0, cpus: float = 2.0):
        self.ray, self.address, self.gpus, self.cpus = import_ray(), address, gpus, cpus
        self.started = False

    def _connect(self) -> dict:
        ray = self.ray
        if not ray.is_initialized():
            where = {} if self.address == "local" else {"address": self.address}
            ray.init(**where, include_dashboard=False, runtime_env={"py_modules": [str(PACKAGE)]},
                     log_to_driver=False)
            self.started = True
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        return {"num_gpus": self.gpus} if has_gpus else {"num_cpus": self.cpus}

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False

    def find(self, base: Config, out: Path) -> dict:
        resources = self._connect()
        _land(out, self.ray.get(self.ray.remote(_find_task).options(**resources).remote(base.to_dict())))
        return saved_pair(out)

    def run(self, todo, out: Path):
        """Yield each (point, seed)'s row as its task finishes; kept runs first, without a task."""
        ray = self.ray
        resources = self._connect()
        task = ray.remote(_point_task).options(**resources, max_retries=RETRIES, retry_exceptions=False)
        pending = {}
        try:
            for point, seed in todo:
                kept = kept_row(point, seed, out)
                if kept is not None:
                    yield kept
                else:
                    pending[task.remote(point.cfg.to_dict(), point.found, seed)] = (point, seed)
            while pending:
                [ref], _ = ray.wait(list(pending), num_returns=1)
                point, seed = pending.pop(ref)
                yield self._collect(ref, point, seed, out)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise Interrupted(f"cancelled the {len(pending)} Ray tasks in flight") from None
        finally:
            self.close()

    def _collect(self, ref, point: Point, seed: int, out: Path) -> dict:
        """A finished task's row, its files landed in ``out``; a task that failed (after its retries) is a row too."""
        try:
            row, files = self.ray.get(ref)
        except Exception as e:  # the point's own error, or a worker/node lost more often than RETRIES
            return {**base_row(point, seed), "status": "failed", "diverged": False, "note": failure(e)}
        _land(out, files)
        return row
