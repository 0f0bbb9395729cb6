#!/usr/bin/env python3
"""Runs each plugin scenario (`tests/plugins/<library>/`) on the library versions its plugin
declares, each in a cached virtualenv.

    python tools/plugin_matrix.py                  # oldest and newest declared version of each library
    python tools/plugin_matrix.py --all            # every declared version
    python tools/plugin_matrix.py flask werkzeug   # only these libraries (test folders)
    python tools/plugin_matrix.py --list           # what would run, and the pip requirements
    python tools/plugin_matrix.py -- -k error      # arguments after -- go to pytest
    python tools/plugin_matrix.py --all --record   # and write what passed to tests/plugins/tested-versions.json
    python tools/plugin_matrix.py --python /path/to/python3.10 aioredis   # venvs of another Python

The versions come from the plugins' ``support_matrix`` (``{<library>: {'>=3.10': [versions]}}``,
the first Python rule that this interpreter satisfies): ``'2.0'`` means the newest ``2.0.x``,
``'1.0.1'`` exactly that release, ``'*'`` a standard-library module (one run, nothing to
install). A scenario folder adds what its services need besides the library in
``requirements.txt``, and per declared version in ``requirements-<version>.txt`` (e.g. Flask
2.0 needs the Werkzeug of its time).

Each version gets a virtualenv under ``~/.cache/skywalking-rs/plugin-venvs/<library>-<version>/``
(or ``$SW_PLUGIN_VENVS``), made once
(pip; nothing is downloaded again while its requirements stay the same). The agent is not
installed there: a ``.pth`` file points at the `skywalking` package this interpreter imports
(the current build, editable or installed), through links refreshed on every run. pytest
runs here, with ``SW_PLUGIN_PYTHON`` naming the venv's interpreter, which the scenario's
services run under (`tests/plugins/conftest.py`).

``--python`` makes the venvs with another interpreter (their names end in ``-py<X.Y>``) and
picks the versions declared for it, e.g. aioredis 2 on Python 3.10. The agent's native
module must then exist for that Python too, beside the current one: build it with
``maturin build -i <python>`` and put its ``_core.cpython-<XY>-*.so`` into ``python/skywalking/``.
confluent-kafka 1.8.2 has no wheel for Python 3.10: pip builds it against the system's
librdkafka (Debian's ``librdkafka-dev``, 2.0.2, which it accepts).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / 'tests' / 'plugins'
# Outside the checkout, so that a fresh clone on the same machine (CI) reuses the venvs, as
# pip reuses its download cache; SW_PLUGIN_VENVS moves them. The links to the agent under
# test stay in the checkout: each venv's .pth names the links of the run that used it last,
# so two checkouts must not run the matrix at the same time.
CACHE = Path(os.environ.get('SW_PLUGIN_VENVS') or Path.home() / '.cache' / 'skywalking-rs' / 'plugin-venvs')
AGENT_LINKS = ROOT / '.cache' / 'agent-under-test'
STDLIB = '*'
# What passed, per library and declared version: the release installed and the Python it ran
# on. Written by --record; the generated plugin table (tools/gen_docs.py) shows it.
RECORD = TESTS / 'tested-versions.json'


@dataclass
class Interpreter:
    """The Python the library venvs are made with (`--python`; by default this one)."""

    path: str
    version: str  # X.Y.Z
    own: bool  # the interpreter running this script

    @property
    def suffix(self) -> str:
        return '' if self.own else '-py' + '.'.join(self.version.split('.')[:2])


TARGET = Interpreter(sys.executable, '.'.join(str(part) for part in sys.version_info[:3]), True)


@dataclass(frozen=True)
class Run:
    library: str
    version: str  # as declared
    plugins: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return TESTS / self.library

    @property
    def venv(self) -> Path:
        name = self.library if self.version == STDLIB else f'{self.library}-{self.version}'
        return CACHE / f'{name}{TARGET.suffix}'

    def requirements(self) -> list[str]:
        wanted = ['packaging>=21']  # the agent's own dependency
        if self.version != STDLIB:
            wanted.append(requirement(self.library, self.version))
            wanted += read_requirements(self.folder / f'requirements-{self.version}.txt')
        wanted += read_requirements(self.folder / 'requirements.txt')
        return wanted


def requirement(library: str, version: str) -> str:
    """``flask==2.0.*`` for ``'2.0'``, ``werkzeug==1.0.1`` for ``'1.0.1'``."""
    return f'{library}=={version}.*' if version.count('.') == 1 else f'{library}=={version}'


def read_requirements(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = (line.split('#', 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def python_rule_matches(rule: str) -> bool:
    from packaging.specifiers import SpecifierSet

    return TARGET.version in SpecifierSet(rule)


def declared() -> dict[str, tuple[list[str], tuple[str, ...]]]:
    """library -> (declared versions for this Python, oldest first; the plugins declaring it)."""
    sys.path.append(str(ROOT / 'python'))  # fallback only: an installed package wins
    from skywalking import plugins as package

    found: dict[str, tuple[list[str], list[str]]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda item: item.name):
        if not info.name.startswith('sw_'):
            continue
        module = importlib.import_module(f'{package.__name__}.{info.name}')
        for library, rules in (getattr(module, 'support_matrix', None) or {}).items():
            for rule, versions in (rules or {}).items():
                if python_rule_matches(rule):
                    entry = found.setdefault(library, ([], []))
                    entry[0].extend(v for v in versions if v not in entry[0])
                    entry[1].append(info.name)
                    break
    return {library: (sort_versions(versions), tuple(names)) for library, (versions, names) in found.items()}


def sort_versions(versions: list[str]) -> list[str]:
    from packaging.version import Version

    if STDLIB in versions:
        return [STDLIB]
    return sorted(versions, key=Version)


def plan(libraries: list[str], every: bool) -> list[Run]:
    runs = []
    matrix = declared()
    unknown = [name for name in libraries if name not in matrix]
    if unknown:
        raise SystemExit(f'no plugin declares {unknown}; declared: {sorted(matrix)}')
    for library, (versions, plugins) in sorted(matrix.items()):
        if libraries and library not in libraries:
            continue
        if not (TESTS / library).is_dir():
            print(f'warning: {library} is declared by {", ".join(plugins)} but has no tests/plugins/{library}/')
            continue
        if not versions:  # e.g. aioredis 2, which does not import on Python 3.11+
            print(f'note: {library}: {", ".join(plugins)} declares no version for this Python')
            continue
        chosen = versions if every else sorted({versions[0], versions[-1]}, key=versions.index)
        runs += [Run(library, version, plugins) for version in chosen]
    return runs


def link_agent() -> Path:
    """Links to the `skywalking` and `sw_python` packages this interpreter imports."""
    import skywalking
    import sw_python

    AGENT_LINKS.mkdir(parents=True, exist_ok=True)
    for module in (skywalking, sw_python):
        target = Path(module.__file__).resolve().parent
        link = AGENT_LINKS / target.name
        if link.is_symlink() or link.exists():
            if link.is_symlink() and link.resolve() == target:
                continue
            link.unlink() if link.is_symlink() else shutil.rmtree(link)
        link.symlink_to(target, target_is_directory=True)
    return AGENT_LINKS


def venv_python(venv: Path) -> Path:
    return venv / 'bin' / 'python'


def ensure_venv(run: Run, agent: Path) -> Path:
    """The venv of `run`, made (or remade) when its requirements changed."""
    wanted = '\n'.join([TARGET.version, *run.requirements()])
    marker = run.venv / '.requirements'
    python = venv_python(run.venv)
    if not (python.exists() and marker.exists() and marker.read_text() == wanted):
        print(f'==> preparing {run.venv}: {" ".join(run.requirements())}', flush=True)
        subprocess.run([TARGET.path, '-m', 'venv', '--clear', str(run.venv)], check=True)
        subprocess.run(
            [str(python), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', *run.requirements()],
            check=True,
        )
        marker.write_text(wanted)
    site = subprocess.run(
        [str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / 'skywalking-agent-under-test.pth').write_text(f'{agent}\n')
    return python


def installed(python: Path, library: str) -> str:
    code = f'import importlib.metadata as m\ntry:\n print(m.version({library!r}))\nexcept Exception:\n print("stdlib")'
    return subprocess.run([str(python), '-c', code], capture_output=True, text=True, check=True).stdout.strip()


def agent_imports(python: Path) -> bool:
    """Whether the agent's native module loads in the venv (another Python needs its own build)."""
    return subprocess.run([str(python), '-c', 'import skywalking._core'], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if '--' in argv:
        index = argv.index('--')
        argv, pytest_args = argv[:index], argv[index + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('libraries', nargs='*', help='test folders under tests/plugins (default: all)')
    parser.add_argument('--all', action='store_true', help='every declared version, not only oldest and newest')
    parser.add_argument('--list', action='store_true', help='print the runs and their requirements, run nothing')
    parser.add_argument(
        '--record', action='store_true', help=f'write the versions that passed to {RECORD.relative_to(ROOT)}'
    )
    parser.add_argument('--python', help='make the venvs with this interpreter (default: the running one)')
    args = parser.parse_args(argv)
    if args.python:
        version = subprocess.run(
            [args.python, '-c', 'import platform; print(platform.python_version())'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        TARGET.path, TARGET.version = args.python, version
        TARGET.own = version == '.'.join(str(part) for part in sys.version_info[:3])

    runs = plan(args.libraries, args.all)
    if args.list:
        for run in runs:
            print(f'{run.library:16} {run.version:8} {" ".join(run.requirements())}')
        return 0
    agent = link_agent()
    results = []
    for run in runs:
        started = time.monotonic()
        python = ensure_venv(run, agent)
        actual = installed(python, run.library)
        if not TARGET.own and not agent_imports(python):
            print(
                f'error: the agent has no native module for Python {TARGET.version}: build one with '
                f'`maturin build -i {TARGET.path}` and put its _core.cpython-*.so into python/skywalking/',
                flush=True,
            )
            results.append((run, actual, 1, time.monotonic() - started))
            continue
        print(f'==> {run.library} {actual} ({", ".join(run.plugins)})', flush=True)
        env = {**os.environ, 'SW_PLUGIN_PYTHON': str(python)}
        command = [sys.executable, '-m', 'pytest', str(run.folder), '-q', '-p', 'no:cacheprovider', *pytest_args]
        code = subprocess.run(command, cwd=ROOT, env=env).returncode
        results.append((run, actual, code, time.monotonic() - started))
        if args.record and not pytest_args:
            record(results[-1:])  # after each run, so that an interrupted --all keeps what it did
    print('\n| library | declared | installed | result | seconds |\n|---|---|---|---|---:|')
    for run, actual, code, seconds in results:
        print(f'| {run.library} | {run.version} | {actual} | {"passed" if code == 0 else "FAILED"} | {seconds:.0f} |')
    if args.record and pytest_args:
        print('not recorded: a run with pytest arguments is not a full scenario run')
    return 0 if all(code == 0 for _, _, code, _ in results) else 1


def record(results: list[tuple[Run, str, int, float]]) -> None:
    """Adds the runs that passed to RECORD and removes those that failed; runs of other
    libraries and versions keep their entries."""
    import json

    python = TARGET.version
    data = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    for run, actual, code, _ in results:
        versions = data.setdefault(run.library, {})
        key = f'{run.version} on {python}'  # one entry per declared version and Python
        if code == 0:
            versions[key] = {'installed': actual, 'python': python}
        else:
            versions.pop(key, None)
    RECORD.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n')


if __name__ == '__main__':
    sys.exit(main())
