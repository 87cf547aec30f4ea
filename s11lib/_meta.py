"""This package's version, read without importing anything heavy (``s11lib.__version__`` and every record)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def version() -> str:
    """This package's version: its checkout's pyproject.toml (run from a clone, or installed editable), else
    what pip installed; a bare copy of the folder (Colab's upload) has neither."""
    pyproject = PACKAGE.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if project.get("name") == "s11lib":
            return project["version"]
    from importlib import metadata

    try:
        return metadata.version("s11lib")
    except metadata.PackageNotFoundError:
        return "0+unknown"
