"""A pytest plugin (conftest.py loads it): Ctrl-C stops the whole suite.

Tests run the CLI in-process, and the CLI takes a KeyboardInterrupt as its own interrupt (exit
130, "interrupted while ..."): without this plugin a Ctrl-C in the terminal failed one test and
pytest went on with the next. A real SIGINT is remembered here, and the suite stops after the
test it arrived in. Tests that raise KeyboardInterrupt themselves (the interrupt fixtures) send
no signal, so they go on as before.
"""

import signal

import pytest

_received = []


def _on_sigint(signum, frame):
    _received.append(signum)
    raise KeyboardInterrupt


def pytest_configure(config):
    signal.signal(signal.SIGINT, _on_sigint)


def pytest_runtest_teardown(item, nextitem):
    if _received:
        pytest.exit("Ctrl-C: the suite stops here", returncode=130)
