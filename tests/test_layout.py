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


ROOT = PACKAGE.parent
ISSUE = r"\bissues? \d|(?<![\w&])#\d(?!\d*-)"  # "issue 24", "issues 24 and 25", "#24": the tracker's words
# ("#1-full-24-epoch-job": a page's anchor, not an issue)


def test_no_issue_numbers_in_the_code_tests_or_docs():
    import re

    files = [*sorted(PACKAGE.glob("*.py")), *sorted((ROOT / "tests").glob("*.py")), ROOT / "README.md",
             *sorted((ROOT / "docs").glob("*.md")), *BENCH_PAGES]
    named = [f"{p.relative_to(ROOT)}:{i}" for p in files if p.name != "test_layout.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(ISSUE, line, flags=re.I)]
    assert named == []


BENCH_PAGES = [p for p in sorted((ROOT / "bench").rglob("*")) if p.suffix in (".py", ".sh", ".md")]  # results' raw
# outputs (.txt, .log, .json, .csv) print the paths their machine had: records, kept as printed
MACHINE_PATH = r"(?<![\w.~$])/(?:root|work|home|Users)/"  # a machine's own folders (/tmp is everyone's)


def test_bench_holds_no_machine_paths_and_its_results_folders_hold_records_only():
    import re

    named = [f"{p.relative_to(ROOT)}:{i}" for p in [*BENCH_PAGES, ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
             for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(MACHINE_PATH, line)]
    assert named == []
    scripts = [p.relative_to(ROOT) for p in (ROOT / "bench" / "results").rglob("*") if p.suffix in (".py", ".sh")]
    assert scripts == []


def test_no_function_is_named_like_a_module_its_file_imports():
    """`run` beside `from . import run` shadows the module in its own file (the sweep had both)."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    clashes = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level
                    for a in n.names if (a.asname or a.name) in modules}
        imported |= {n.module.split(".")[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level
                     and n.module}
        defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        clashes += [f"{path.name}:{name}" for name in sorted(defined & imported & modules)]
    assert clashes == []


def test_the_tests_sharing_a_session_fixture_run_in_one_test_process():
    """pytest-xdist sends the tests of one xdist_group to one process: the process that made a real-data
    smoke run (or the local Ray) is the one that reads it, and the longest groups start first; conftest marks
    and orders them before xdist reads them (``tryfirst``)."""
    import subprocess
    import sys

    tests = ["tests/test_ray_sweep.py::test_a_wrong_token_is_refused_before_the_sweep_touches_anything",
             "tests/test_readme.py::test_the_find_lr_command_finds_the_pair_the_smoke_run_trains_at",
             "tests/test_readme.py::test_the_notebooks_smoke_command_gives_the_smoke_runs_numbers",
             "tests/test_model.py::test_output_is_one_logit_per_class",
             "tests/test_tries.py::test_the_range_test_is_a_fresh_nets_whatever_ran_before",
             "tests/test_tries.py::test_a_rerun_reads_the_saved_test_back_and_says_so"]
    plan = subprocess.run([sys.executable, "-m", "pytest", "-n", "1", "--dist", "loadgroup", "--setup-plan", "-v",
                           "-p", "no:cacheprovider", *tests], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    ids = list(dict.fromkeys(line.split()[0] for line in plan.stdout.splitlines() if line.startswith("tests/")))
    # the longest first; then the rest in their order, though a group of two tests (test_tries') would go first
    assert ids == [tests[2] + "@notebook", tests[1] + "@real-data", tests[0] + "@ray", tests[3], *(t + "@tries" for t in tests[4:])]


def test_a_folder_the_test_processes_share_is_made_once_and_anew_after_a_failed_try(tmp_path):
    """conftest's ``made_once``: the real-data smoke runs and the tiny runs are made once for the whole suite."""
    import threading
    import time

    import pytest

    from conftest import made_once

    def fail(folder):
        (folder / "half").touch()
        raise RuntimeError("failed")

    with pytest.raises(RuntimeError):
        made_once(tmp_path, "x", fail)
    made = []

    def make(folder):
        made.append(folder)
        (folder / "whole").touch()

    assert made_once(tmp_path, "x", make) == made_once(tmp_path, "x", make) == tmp_path / "x"
    assert made == [tmp_path / "x"] and [p.name for p in (tmp_path / "x").iterdir()] == ["whole"]

    def slow(folder):  # a second process asks while the first makes it: it waits, and makes nothing
        made.append(folder)
        time.sleep(0.5)

    threads = [threading.Thread(target=made_once, args=(tmp_path, "y", slow)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made == [tmp_path / "x", tmp_path / "y"]


def imports_of(path: Path) -> set[str]:
    """The s11lib modules ``path`` imports, anywhere in it (a lazy import inside a function counts too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("s11lib."):
            found.add(node.module.split(".")[1])
    return found - {path.stem}


def test_no_module_is_over_400_lines_and_no_import_circle():
    modules = {p.stem: p for p in PACKAGE.glob("*.py")}
    assert [p.name for p in modules.values() if len(p.read_text().splitlines()) > 400] == []
    graph = {name: imports_of(path) & set(modules) for name, path in modules.items()}

    def circle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == start:
                return [*path, nxt]
            if nxt not in path and (found := circle_from(start, [*path, nxt])):
                return found
        return None

    circles = [c for name in sorted(graph) if (c := circle_from(name, [name]))]
    assert circles == []
