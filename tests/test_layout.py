"""The shape the code keeps (README, "How the code is laid out"): the CLI only parses and
dispatches, no function grows past a screen, and no step of the job imports the CLI."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "s11lib"


def test_no_function_in_s11lib_is_over_60_lines():
    long = [f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in sorted(PACKAGE.glob("*.py")) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 60]
    assert long == []


def test_the_cli_is_flags_dispatch_and_exit_statuses_and_nothing_imports_it():
    assert len((PACKAGE / "cli.py").read_text().splitlines()) <= 250
    importers = [path.name for path in PACKAGE.glob("*.py") if path.name not in ("cli.py", "__main__.py")
                 and any(isinstance(n, ast.ImportFrom) and n.module in ("cli", "s11lib.cli")
                         for n in ast.walk(ast.parse(path.read_text())))]
    assert importers == []
