"""Fixtures of the plugin scenarios (`tests/plugins/<library>/`).

The services of a scenario run under `sw-python run` with the interpreter `plugin_python`:
the virtualenv `tools/plugin_matrix.py` made for one declared version of the library (passed
in ``SW_PLUGIN_PYTHON``), or, when pytest is run directly, this interpreter with whatever
versions it has. The test process itself runs no agent.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture(scope='session')
def plugin_python() -> str:
    return os.environ.get('SW_PLUGIN_PYTHON') or sys.executable


def installed_version(python: str, distribution: str) -> str | None:
    """The version of `distribution` installed for `python` (None when it is not)."""
    code = (
        'import importlib.metadata, sys\n'
        'try:\n'
        f'    print(importlib.metadata.version({distribution!r}))\n'
        'except importlib.metadata.PackageNotFoundError:\n'
        '    pass\n'
    )
    out = subprocess.run([python, '-c', code], capture_output=True, text=True, timeout=60, check=True).stdout
    return out.strip() or None


@pytest.fixture(scope='session')
def library_version(plugin_python):
    """``library_version('werkzeug')``: the version the scenario's services run with, as a
    `packaging.version.Version` (for the few expectations that differ between versions)."""
    from packaging.version import Version

    cache: dict[str, Version | None] = {}

    def version(distribution: str):
        if distribution not in cache:
            text = installed_version(plugin_python, distribution)
            cache[distribution] = Version(text) if text else None
        return cache[distribution]

    return version
