"""A sweep's runs as Ray tasks: the same ``sweep_run.run_point`` per (point, seed), one
task each, on a cluster or on a Ray started here for the sweep; the files of each finished run
come back to the driver and land in the same OUT layout as a local sweep's, so sweep.csv, the
figures, ``summary`` and a rerun work the same whichever way the runs ran.

Ray is the engine the PyTorch world already uses for this (under Ray Tune and Ray Train); it is
optional: ``pip install -r requirements-dev.txt`` brings it, Colab users never need it.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from . import provenance
from .config import Config, ConfigError, InputError, Interrupted
from .outputs import LOCK
from .sweep_plan import Point
from .sweep_run import CONNECT_SECONDS, base_row, run_point, saved_pair

RETRIES = 2  # a task lost with its worker or node (a crash, out of memory) runs again this often, then is a failed row
INSTALL = "pip install 'ray>=2.31'"
PACKAGE = Path(__file__).resolve().parent  # shipped to every node (runtime_env py_modules): no shared disk assumed
# Joins the cluster in a process of its own: Ray retries an address nobody answers at for minutes, printing a warning
# every few seconds; a process can be stopped on time, and what it prints stays out of the terminal.
PROBE = "import json, sys, ray; ray.init(address=sys.argv[1], logging_level='ERROR'); print(json.dumps(ray.cluster_resources()))"


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(f"sweep --ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def check_resources(gpus: float, cpus: float) -> None:
    """Refuse a task size Ray could not schedule, or that would break the sweep's promise of the
    local sweep's arithmetic (0 CPUs: every task at once, sharing the cores)."""
    if not (math.isfinite(cpus) and cpus > 0):
        raise ConfigError(f"ray-cpus must be a finite number > 0 (CPUs a point takes where the cluster has no GPU), "
                          f"got {cpus}")
    if not (math.isfinite(gpus) and gpus >= 0):
        raise ConfigError(f"ray-gpus must be a finite number >= 0 (GPUs a point takes; 0 runs points on CPUs), "
                          f"got {gpus}")


def probe(address: str, timeout: float = CONNECT_SECONDS) -> dict:
    """Join the cluster at ``address`` once, in a process of its own stopped after ``timeout`` seconds;
    returns its resources.

    Raises:
        ConfigError: nothing answered in time, or Ray refused to join (the message says which).
    """
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, address], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"no Ray cluster answers at {address} within {timeout:g} s (--ray-timeout), or it refused "
                          "this machine's token (~/.ray/auth_token or RAY_AUTH_TOKEN_PATH, docs/cluster.md); pass the address "
                          "`ray start --head` printed") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"exit status {done.returncode}"
        raise ConfigError(f"cannot join the Ray cluster at {address}: {why}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _point_task(cfg: dict, found: bool, seed: int, code: dict) -> tuple[dict, dict[str, bytes]]:
    """On a worker: one run into a folder of its own, recorded as the driver's ``code`` (the worker's copy
    of s11lib is no checkout); returns its row and its files (path -> bytes). A point's own error (its
    data unreadable on this node) is a failed row naming this host."""
    point = Point(Config.from_dict(cfg), found)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            row = run_point(point, seed, Path(tmp), code=code)
        except Exception as e:  # noqa: BLE001 - the row carries it; the other points go on
            return {**base_row(point, seed), "commit": code["commit"], "status": "failed", "diverged": False,
                    "host": socket.gethostname(), "note": failure(e)}, {}
        return row, _files(Path(tmp))


def _find_task(cfg: dict) -> dict[str, bytes]:
    """On a worker: the range test for the found points; returns lr_finder.json and lr_finder.png."""
    from .datasets import load_cifar10
    from .sweep_run import find_pair

    base = Config.from_dict(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        find_pair(base, load_cifar10(base.data, data_dir=base.data_dir, subset=base.subset), Path(tmp))
        return _files(Path(tmp))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != LOCK}


def _land(out: Path, files: dict[str, bytes]) -> None:
    """Write a task's files under ``out`` as they arrive (each run's alone is held in memory).

    Raises:
        ConfigError: a name that would land outside ``out`` (absolute, or through ``..``): a worker's files
            stay in the sweep's folder, whatever the worker sends.
    """
    root = out.resolve()
    for name, data in files.items():
        path = (out / name).resolve()
        if Path(name).is_absolute() or not path.is_relative_to(root) or path == root:
            raise ConfigError(f"a Ray task sent a file named {name!r}, which would land outside the sweep's folder "
                              f"{out}; refused (is every worker running this s11lib?)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def failure(error: BaseException) -> str:
    """One line for a failed task: the exception the point raised, or what Ray says of a lost worker."""
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, BaseException) and str(cause):
        return f"{type(cause).__name__}: {str(cause).strip().splitlines()[-1]}"
    return traceback.format_exception_only(type(error), error)[-1].strip().splitlines()[-1]


class RayRunner:
    """Runs a sweep's range test and runs as Ray tasks: ``gpus`` GPUs each where the cluster has GPUs
    (and ``gpus`` > 0), ``cpus`` CPUs each otherwise. Every setting is checked when it is made, and
    the cluster reached in ``start``, before the sweep writes anything."""

    def __init__(self, address: str = "local", *, gpus: float = 1.0, cpus: float = 2.0,
                 timeout: float = CONNECT_SECONDS):
        check_resources(gpus, cpus)
        if not (math.isfinite(timeout) and timeout > 0):
            raise ConfigError(f"ray-timeout must be a finite number of seconds > 0, got {timeout}")
        self.ray, self.address, self.gpus, self.cpus, self.timeout = import_ray(), address, gpus, cpus, timeout
        self.started, self.options = False, {}  # a task's Ray options: the resources it takes

    def start(self, base: Config) -> None:
        """Reach the cluster (an ADDRESS within ``timeout`` seconds, or a Ray started here) and size the tasks.
        A Ray this process already runs is used when it is the one asked for (``local``, or its own address),
        and said so: its tasks import s11lib as that Ray was started (Ray ships a package at ``ray.init``
        alone); another address is refused."""
        ray = self.ray
        if not ray.is_initialized():
            if self.address != "local":
                probe(self.address, self.timeout)
            where = {} if self.address == "local" else {"address": self.address}
            ray.init(**where, include_dashboard=False, runtime_env={"py_modules": [str(PACKAGE)]},
                     log_to_driver=False, logging_level="ERROR")
            self.started = True
        else:
            running = ray.get_runtime_context().gcs_address
            if self.address != "local" and self.address != running:
                raise ConfigError(f"this process already runs Ray (its cluster at {running}), so it cannot join "
                                  f"{self.address}: pass --ray alone to use the running one, or sweep from a new process")
            print(f"using the Ray this process already runs (its cluster at {running}; its tasks import s11lib as "
                  "its ray.init set them up)")
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        self.options = {"num_gpus": self.gpus} if has_gpus and self.gpus > 0 else {"num_cpus": self.cpus}

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False

    def find(self, base: Config, out: Path) -> dict:
        try:
            files = self.ray.get(self.ray.remote(_find_task).options(**self.options).remote(base.to_dict()))
        except Exception as e:  # noqa: BLE001 - Ray's error carries the worker's traceback: one line of it is enough
            raise InputError(f"the LR range test failed on the cluster ({failure(e)}); nothing was trained") from None
        _land(out, files)
        return saved_pair(out)

    def run(self, todo, out: Path):
        """A task for each (point, seed) of ``todo`` (runs that ``out`` does not hold yet); yield each row as
        its task finishes."""
        ray = self.ray
        task = ray.remote(_point_task).options(**self.options, max_retries=RETRIES, retry_exceptions=False)
        code = provenance.code()  # the driver's: a worker's copy of s11lib is no checkout
        pending = {}
        try:
            for point, seed in todo:
                pending[task.remote(point.cfg.to_dict(), point.found, seed, code)] = (point, seed)
            while pending:
                [ref], _ = ray.wait(list(pending), num_returns=1)
                point, seed = pending.pop(ref)
                yield self._collect(ref, point, seed, out)
        except KeyboardInterrupt:
            raise Interrupted(f"cancelled the {len(pending)} Ray tasks in flight") from None
        finally:  # however the driver stops (Ctrl-C, an error, a consumer that gave up): no task runs on for nothing
            for ref in pending:
                ray.cancel(ref, force=True)

    def _collect(self, ref, point: Point, seed: int, out: Path) -> dict:
        """A finished task's row, its files landed in ``out``; a task lost more often than RETRIES is a row too."""
        try:
            row, files = self.ray.get(ref)
        except Exception as e:  # a worker or node lost more often than RETRIES
            return {**base_row(point, seed), "status": "failed", "diverged": False, "note": failure(e)}
        _land(out, files)
        return row
