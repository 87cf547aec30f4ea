"""s11lib installs like the libraries its users know: one source of truth for its requirements, a
wheel of the package alone with an ``s11`` command and a ``ray`` extra, installed outside the
checkout (from the wheel and from a git URL), and a one-call Python API that imports no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import HANG, NARROW, NarrowResNet9
from s11lib import provenance
from s11lib.model import count_parameters

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NOTEBOOK_ONLY = {"jupyter", "nbclient", "ipykernel"}  # requirements.txt's lines for executing the notebook


def requirement_lines(path: Path) -> set[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {str(Requirement(line)) for line in lines if line and not line.startswith("-r")}


def test_requirements_txt_and_pyproject_agree():
    """requirements.txt (what the notebook installs on Colab) is the runtime dependencies plus the notebook extra;
    requirements-dev.txt's own lines are the dev extra's."""
    runtime = {str(Requirement(r)) for r in PROJECT["dependencies"]}
    extras = PROJECT["optional-dependencies"]
    notebook = {str(Requirement(r)) for r in extras["notebook"]}
    assert {Requirement(r).name for r in notebook} == NOTEBOOK_ONLY
    assert requirement_lines(ROOT / "requirements.txt") == runtime | notebook
    dev = {str(Requirement(r)) for r in extras["dev"] if not r.startswith("s11lib")}
    assert requirement_lines(ROOT / "requirements-dev.txt") == dev | {str(Requirement(r)) for r in extras["ray"]}
    assert "s11lib[notebook,ray]" in extras["dev"]


def run(*args, cwd, env=None, timeout=HANG) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of the checkout on the path
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**clean, **(env or {})})


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from this checkout, after an earlier build left a module the checkout no longer has
    (``build/`` is where setuptools builds, and it is kept between builds)."""
    out = tmp_path_factory.mktemp("wheel")
    stale = ROOT / "build" / "lib" / "s11lib" / "deleted_since.py"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("# a module of an earlier build\n")
    try:
        done = run(sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-q", "-w", out,
                   cwd=out)
    finally:
        stale.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr
    [built] = out.glob("s11lib-*.whl")
    return built


def test_the_wheel_holds_the_package_alone_with_its_command_and_extras(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    modules = sorted(p.name for p in (ROOT / "s11lib").glob("*.py"))
    assert sorted(n.removeprefix("s11lib/") for n in names if n.startswith("s11lib/")) == sorted([*modules, "COMMIT"])
    assert zipfile.ZipFile(wheel).read("s11lib/COMMIT").decode() == f"{provenance.commit()}\n"  # built from this checkout
    assert not [n for n in names if n.startswith(("tests/", "bench/", "images/"))]
    info = f"s11lib-{PROJECT['version']}.dist-info"
    meta = zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode()
    required = {Requirement(line.removeprefix("Requires-Dist: ")).name for line in meta.splitlines()
                if line.startswith("Requires-Dist: ") and "extra ==" not in line}
    assert {"torch", "torchvision", "albumentations", "torch-lr-finder", "grad-cam", "matplotlib"} <= required
    assert {"Provides-Extra: ray", "Provides-Extra: notebook", "Provides-Extra: dev"} <= set(meta.splitlines())
    scripts = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "s11 = s11lib.cli:console" in scripts


def test_installed_outside_the_checkout_it_answers_and_trains(wheel, learnable, tmp_path):
    """A virtualenv that sees this machine's packages (torch and the rest) but not the checkout. Its
    train's log, captured as a file would, has no progress bars (they show only on a terminal)."""
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv, cwd=tmp_path).returncode == 0
    python, s11 = venv / "bin" / "python", venv / "bin" / "s11"
    done = run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index", wheel, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert run(python, "-c", "import s11lib; print(s11lib.__file__)", cwd=tmp_path).stdout.startswith(str(venv))
    assert run(s11, "--version", cwd=tmp_path).stdout == f"s11lib {PROJECT['version']}\n"
    helped = run(s11, "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "train" in helped.stdout and "sweep" in helped.stdout
    assert helped.stdout.startswith("usage: s11 ")  # named as it was called
    wrong = run(s11, "train", "--epoch", "3", cwd=tmp_path)
    assert wrong.stderr == "error: s11 train: unrecognized arguments: --epoch 3 (see s11 train --help)\n"
    # the range test too, its output captured as a log redirected to a file is: no progress bars in it
    trained = run(python, "-m", "s11lib", "train", "--data", learnable, "--out", "run", "--finder-iters", "8",
                  "--epochs", "2", "--peak-epoch", "1", "--batch-size", "25", "--workers", "0", "--device", "cpu",
                  cwd=tmp_path, env={"PYTHONPATH": str(NARROW)})  # the narrow net: no module of the checkout
    assert trained.returncode == 0, trained.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["params"] == count_parameters(NarrowResNet9())
    assert metrics["commit"] == provenance.commit() and metrics["commit"]  # the commit the installed copy was built from
    assert "\r" not in trained.stdout + trained.stderr
    assert "UserWarning" not in trained.stderr and "Traceback" not in trained.stderr
    # the same package from a git URL (this checkout's committed state), as `pip install "s11lib[ray] @ git+URL"`
    url = run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index", "--no-deps",
              "--no-build-isolation", "--force-reinstall", f"s11lib[ray] @ git+file://localhost{ROOT}", cwd=tmp_path)
    assert url.returncode == 0, url.stderr
    assert run(s11, "--version", cwd=tmp_path).stdout == f"s11lib {PROJECT['version']}\n"


def test_the_python_api_imports_no_torch_until_called_and_runs_the_clis_jobs(learnable, tmp_path):
    probe = ("import sys, s11lib; print(sorted(m for m in ('torch', 'ray', 'albumentations') if m in sys.modules), "
             "[n for n in dir(s11lib) if not n.startswith('_')])")
    assert run(sys.executable, "-c", probe, cwd=ROOT).stdout == "[] ['find_lr', 'predict', 'sweep', 'train']\n"
    import signal

    import s11lib

    ctrl_c = signal.getsignal(signal.SIGINT)
    metrics = s11lib.train(out=tmp_path / "a", data=str(learnable), min_lr=0.002, max_lr=0.2, epochs=2, peak_epoch=1,
                           batch_size=50, workers=0, device="cpu", progress=False)
    assert metrics == json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert signal.getsignal(signal.SIGINT) is ctrl_c  # the caller's Ctrl-C still works after the call
    rows = s11lib.sweep(out=tmp_path / "s", data=str(learnable), max_lr=0.2, schedule="one-cycle", epochs=2,
                        found=False, batch_size=50, workers=0, device="cpu", progress=False)
    assert [(r["point"], r["test_accuracy"]) for r in rows] == [("one-cycle-e2-lr0.2", metrics["test_accuracy"])]
    with pytest.raises(s11lib.config.InputError, match=r"holds a finished train run \(metrics.json\); replace it with "
                                                      r"overwrite=True \(which removes it\), or pass another out$"):
        s11lib.train(out=tmp_path / "a", data=str(learnable))
