"""Shared fixtures: a seeded run, the Agg backend, tiny CIFAR-10 look-alikes in every format, a narrow
ResNet-9 for in-process runs and the plumbing subprocesses (the recipe's net where a test asks for
``real_net``), and the runs made once for the whole suite (``made_once``)."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import random
import shutil
import tarfile
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Two test processes share the cores (pytest-xdist, pyproject.toml): OpenMP threads that wait sleep instead of
# spinning, or two trainings at once each run at a third of their speed (bench/RESULTS.md section 17). Set
# before torch loads OpenMP, here and in every process the tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from ctrl_c import pytest_configure, pytest_runtest_teardown  # noqa: E402,F401  (Ctrl-C stops the suite)

import s11lib.engine as engine  # noqa: E402
from s11lib.config import CLASSES  # noqa: E402
from s11lib.datasets import Split  # noqa: E402
from s11lib.model import ResNet9  # noqa: E402
from narrow.sitecustomize import narrow  # noqa: E402

HANG = 1800  # seconds: a test's subprocess that takes this long hangs; load alone (a busy 2-core machine) never gets here
OFFLINE_COPY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
TRAIN_PER_CLASS, TEST_PER_CLASS = 10, 4  # 100 train and 40 test images


# The narrow ResNet-9, at a quarter of its widths (16-32-64-128, a sixteenth of its sums): what the plumbing tests
# train, in-process and, through ``narrow_env``, in the subprocesses and Ray tasks that check plumbing, where the real
# net's minutes on a 2-core CPU would check nothing more (an eighth was too narrow to read a range test off the tiny
# data). The recipe's net trains in each test that asks for ``real_net``, in every other subprocess, in the notebook's
# kernels, and on the real data.
NarrowResNet9 = narrow(ResNet9)
NARROW = Path(__file__).resolve().parent / "narrow"  # tests/narrow/sitecustomize.py: the narrow net in another process


def narrow_env(env: dict | None = None) -> dict:
    """``env`` (or this process's environment) with the narrow net for the Python processes it starts:
    tests/narrow/sitecustomize.py first on their PYTHONPATH."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NARROW), env.get("PYTHONPATH")]))
    return env


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the groups
def pytest_collection_modifyitems(config, items):
    """The tests of the notebook's real-data run (``notebook_smoke``) run in one test process, the other
    tests of the CLI's (``smoke``) in another, the Ray tests in one: each run is made once for the
    whole suite (``made_once``), and grouped so, the process that reads one is the one that made it.
    The longest groups come first, in that order (pyproject.toml keeps the order: --no-loadscope-reorder),
    so the two processes start on the two real-data runs and the shorter tests fill in around them."""
    groups = {"notebook_smoke": "notebook", "smoke": "real-data", "ray_cluster": "ray"}
    first = {}
    for item in items:
        fixture = next((f for f in groups if f in item.fixturenames), None)
        if fixture:
            item.add_marker(pytest.mark.xdist_group(groups[fixture]))
        first[item.nodeid] = list(groups).index(fixture) if fixture else len(groups)
    items.sort(key=lambda item: first[item.nodeid])  # stable: each group's tests, and the rest, keep their order


def made_once(shared: Path, name: str, make) -> Path:
    """The folder ``make(folder)`` fills, made once for the whole suite in ``shared`` (the fixture):
    by whichever test process asks first, while the others wait for it (pytest-xdist's recipe for
    session fixtures). If making it failed, the next process to ask makes it anew."""
    import fcntl

    folder = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when its process dies
        if not (shared / f"{name}.made").exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed try left
            folder.mkdir()
            make(folder)
            (shared / f"{name}.made").touch()
    return folder


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id: str) -> Path:
    """The temporary folder this session's test processes share (in a session of one, its own)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session", autouse=True)
def _narrow_net():
    """In-process runs build the narrow net (``NarrowResNet9``) unless a test asks for ``real_net``."""
    engine.ResNet9 = NarrowResNet9
    yield
    engine.ResNet9 = ResNet9


@contextlib.contextmanager
def the_real_net():
    engine.ResNet9 = ResNet9
    try:
        yield
    finally:
        engine.ResNet9 = NarrowResNet9


@pytest.fixture
def real_net():
    """The recipe's ResNet-9 for this test's in-process runs (compared with a subprocess's, a kernel's or
    a Ray task's, or run on the real data)."""
    with the_real_net():
        yield


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def make_split(per_class: int, seed: int) -> Split:
    """Random 32x32 RGB images, classes interleaved (0, 1, ..., 9, 0, 1, ...)."""
    rng = np.random.default_rng(seed)
    n = per_class * len(CLASSES)
    return Split(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n, dtype=np.int64) % len(CLASSES))


@pytest.fixture(scope="session")
def tiny() -> tuple[Split, Split]:
    return make_split(TRAIN_PER_CLASS, 1), make_split(TEST_PER_CLASS, 2)


def write_image_folder(root: Path, train: Split, test: Split) -> Path:
    """ImageFolder layout, lossless PNG, file names sorted in the split's order per class."""
    for name, split in (("train", train), ("test", test)):
        for i, (img, label) in enumerate(zip(split.images, split.labels)):
            folder = root / name / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(folder / f"{i:04d}.png")
    return root


def write_pickled(root: Path, train: Split, test: Split) -> Path:
    """The original cifar-10-batches-py layout: five training batches and a test batch."""
    root.mkdir(parents=True)

    def dump(name: str, images: np.ndarray, labels: np.ndarray) -> None:
        data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
        with open(root / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels.tolist(), b"batch_label": name.encode()}, f)

    for b, idx in enumerate(np.array_split(np.arange(len(train)), 5), start=1):
        dump(f"data_batch_{b}", train.images[idx], train.labels[idx])
    dump("test_batch", test.images, test.labels)
    return root


@pytest.fixture(scope="session")
def sources(tmp_path_factory, tiny) -> dict[str, Path]:
    """The same tiny data set as a folder, .tar.gz, .zip and cifar-10-batches-py."""
    base = tmp_path_factory.mktemp("sources")
    folder = write_image_folder(base / "tiny-cifar" , *tiny)
    with tarfile.open(base / "tiny-cifar.tar.gz", "w:gz") as t:
        t.add(folder, arcname="tiny-cifar")
    zip_path = shutil.make_archive(str(base / "tiny-cifar"), "zip", root_dir=base, base_dir="tiny-cifar")
    return {
        "folder": folder,
        "tar.gz": base / "tiny-cifar.tar.gz",
        "zip": Path(zip_path),
        "pickled": write_pickled(base / "cifar-10-batches-py", *tiny),
    }


def make_learnable_split(per_class: int, seed: int) -> Split:
    """Each class a colour of its own under noise: a net learns it in a few steps, crops and holes notwithstanding."""
    rng = np.random.default_rng(seed)
    colours = np.random.default_rng(0).integers(30, 226, (len(CLASSES), 3))
    labels = np.arange(per_class * len(CLASSES), dtype=np.int64) % len(CLASSES)
    noise = rng.integers(-30, 31, (len(labels), 32, 32, 3))
    return Split(np.clip(colours[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8), labels)


@pytest.fixture(scope="session")
def learnable(shared) -> Path:
    """A tiny data set a net can learn (100 train, 40 test images), as a .tar.gz in ImageFolder layout: one for
    the suite, so the runs made once (``trained``, ``swept``) name the data path every test process reads."""
    def make(base: Path) -> None:
        folder = write_image_folder(base / "learnable", make_learnable_split(TRAIN_PER_CLASS, 1),
                                    make_learnable_split(TEST_PER_CLASS, 2))
        with tarfile.open(base / "learnable.tar.gz", "w:gz") as t:
            t.add(folder, arcname="learnable")

    return made_once(shared, "learnable", make) / "learnable.tar.gz"


LEARNABLE_RUN = ["--finder-iters", "8", "--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0",
                 "--device", "cpu", "--no-progress"]  # a found pair on the learnable data, 4 batches an epoch


@pytest.fixture(scope="session")
def trained(shared, learnable) -> Path:
    """`train` on the learnable data with a found pair (LEARNABLE_RUN), run once for the suite: its folder."""
    from s11lib.cli import main

    def make(out: Path) -> None:
        assert main(["train", "--data", str(learnable), "--out", str(out), *LEARNABLE_RUN]) == 0

    return made_once(shared, "trained", make)


@pytest.fixture
def interrupt_in_epoch(monkeypatch):
    """``arm(n)``: the next training raises KeyboardInterrupt (as Ctrl-C would) when its epoch n
    starts; ``arm(None)`` restores the real loop."""
    import s11lib.engine as engine

    real = engine.train_one_epoch

    def arm(n: int | None) -> None:
        calls = []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(engine, "train_one_epoch", real if n is None else interrupted)

    return arm


@pytest.fixture(scope="session")
def smoke(offline_copy, shared) -> Path:
    """README's CPU smoke commands on the real data (its range test, then the run at that pair), run once for
    the suite: the run's folder (the range test's is ``runs/smoke-lr`` beside it)."""
    from readme import FIND_LR, SMOKE, argv

    from s11lib.cli import main

    def make(folder: Path) -> None:
        with the_real_net():
            assert main(argv(FIND_LR, offline_copy, folder)) == 0
            assert main(argv(SMOKE, offline_copy, folder)) == 0

    return made_once(shared, "readme-smoke", make) / "runs" / "smoke"


@pytest.fixture(scope="session")
def notebook_smoke(offline_copy, shared):
    """README's nbconvert line (the notebook in smoke mode on the real data), executed once for the suite:
    its folder, the executed notebook, its run directory, and the README's pictures' times before it ran."""
    import types

    from readme import ROOT, run_notebook_command

    def make(folder: Path) -> None:
        pictures = {p.name: p.stat().st_mtime_ns for p in (ROOT / "images").glob("*.png")}
        (folder / "pictures-before.json").write_text(json.dumps(pictures))
        done = run_notebook_command(offline_copy, folder, HANG)
        assert done.returncode == 0, done.stderr[-3000:]

    tmp = made_once(shared, "notebook-smoke", make)
    return types.SimpleNamespace(cwd=tmp, executed=tmp / "runs" / "notebook-smoke.ipynb", run_dir=tmp / "runs" / "notebook-smoke",
                                 readme_pictures=json.loads((tmp / "pictures-before.json").read_text()))


@pytest.fixture(scope="session")
def offline_copy() -> Path:
    """The offline CIFAR-10 copy beside the checkout: required in CI, skipped elsewhere when absent."""
    if not OFFLINE_COPY.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the offline CIFAR-10 copy is missing at {OFFLINE_COPY}")
        pytest.skip(f"no offline CIFAR-10 copy at {OFFLINE_COPY}")
    return OFFLINE_COPY


TINY_SWEEP = ["--epochs", "2", "--batch-size", "50", "--workers", "0", "--device", "cpu", "--no-progress"]
SWEEP_GRID = ["--max-lr", "0.05", "0.2", "--schedule", "one-cycle", "step", "--no-found", *TINY_SWEEP]
SWEEP_POINTS = ["one-cycle-e2-lr0.05", "one-cycle-e2-lr0.2", "step-e2-lr0.05", "step-e2-lr0.2"]


@pytest.fixture(scope="session")
def swept(learnable, shared) -> Path:
    """A 2 x 2 sweep (one-cycle and step at LRMAX 0.05 and 0.2, 2 epochs) on the learnable data, run once for the suite."""
    from s11lib.cli import main

    def make(folder: Path) -> None:
        assert main(["sweep", "--data", str(learnable), "--out", str(folder / "grid"), *SWEEP_GRID]) == 0

    return made_once(shared, "swept", make) / "grid"


def ray_token_auth() -> bool:
    """Whether the installed Ray has token authentication (RAY_AUTH_MODE=token, Ray 2.52 and later)."""
    from importlib.metadata import version

    from packaging.version import Version

    return Version(version("ray")) >= Version("2.52")


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray for the whole session (its start-up costs seconds): 2 CPUs, no dashboard, and
    token authentication on where the installed Ray has it, as the cluster how-to says. Subprocesses
    inherit the token through the environment; its GCS address is ``ray_cluster.address``. Its tasks
    train the narrow net, as the tests here do (Ray puts the shipped package first on their path)."""
    import secrets
    import types

    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)} if ray_token_auth() else {}
    saved = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)  # before Ray is imported: it reads its mode then

    import ray

    from s11lib.ray_sweep import PACKAGE

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"py_modules": [str(PACKAGE)], "env_vars": {"PYTHONPATH": str(NARROW)}})
    yield types.SimpleNamespace(ray=ray, address=ray.get_runtime_context().gcs_address, token_auth=bool(auth))
    ray.shutdown()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
