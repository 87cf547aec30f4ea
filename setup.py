"""The build records the commit it was built from: ``s11lib/COMMIT`` in the wheel (``git describe --dirty`` of
the checkout, ``-dirty`` when its files changed), which ``provenance.commit`` reads where the package runs
outside a checkout (``pip install .``, ``pip install git+URL``). The package's build folder is emptied first,
so a module deleted from the checkout never ships from an earlier build. Everything else is in pyproject.toml."""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithCommit(build_py):
    def run(self):
        shutil.rmtree(Path(self.build_lib) / "s11lib", ignore_errors=True)  # no module of an earlier build stays
        super().run()
        try:
            done = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty", "--abbrev=7"],
                                  capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return
        if done.returncode == 0 and done.stdout.strip():
            (Path(self.build_lib) / "s11lib" / "COMMIT").write_text(done.stdout.strip() + "\n")


setup(cmdclass={"build_py": BuildWithCommit})
