"""The narrow ResNet-9, for the processes the tests start: with this folder on PYTHONPATH (conftest's
``narrow_env``), a process that imports ``s11lib.engine`` builds ``NarrowResNet9`` where the engine builds
its net, as the test process itself does (conftest's ``_narrow_net``). For the subprocesses and Ray tasks
of tests that check plumbing (a plan's steps and packs, rows through Ray, an installed package, a resume
line), where the recipe's net costs minutes on a 2-core CPU and checks nothing more. Python imports this
module at every start-up, so it loads nothing (no torch) until the engine is imported."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

WIDTH = 16  # a quarter of the recipe's 64: a sixteenth of its sums (an eighth read no range test off the tiny data)


def narrow(ResNet9: type) -> type:
    """``ResNet9`` at ``WIDTH``: its widths 16-32-64-128, 412,954 parameters (tests/test_model.py)."""

    class NarrowResNet9(ResNet9):
        """ResNet-9 at a quarter of its widths: what the plumbing tests train."""

        def __init__(self, num_classes: int = 10, logit_scale: float = 0.125):
            super().__init__(num_classes, logit_scale, width=WIDTH)

    return NarrowResNet9


class NarrowEngine(importlib.abc.MetaPathFinder):
    """Finds ``s11lib.engine`` as Python would, and has it build the narrow net once it has loaded."""

    def find_spec(self, name, path=None, target=None):
        if name != "s11lib.engine":
            return None
        sys.meta_path.remove(self)  # the module loads once: find it without this finder, then step aside
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            module.ResNet9 = narrow(module.ResNet9)

        spec.loader.exec_module = exec_module
        return spec


if __name__ == "sitecustomize":  # Python's start-up import; conftest imports this file only for ``narrow``
    sys.meta_path.insert(0, NarrowEngine())
