"""`bench/pgo_wheel.py`: what it reads from rustc, and which llvm-profdata it accepts."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))

import pgo_wheel

RUSTC = """\
rustc 1.95.0 (59807616e 2026-04-14)
binary: rustc
commit-hash: 59807616e1d2e3a4f5b6c7d8e9f0a1b2c3d4e5f6
commit-date: 2026-04-14
host: x86_64-unknown-linux-gnu
release: 1.95.0
LLVM version: 22.1.2
"""


def test_rustc_facts_reads_the_host_triple_and_llvm_major():
    assert pgo_wheel.rustc_facts(RUSTC) == ('x86_64-unknown-linux-gnu', 22)


def test_rustc_facts_without_llvm_says_so():
    with pytest.raises(SystemExit, match='LLVM version'):
        pgo_wheel.rustc_facts(RUSTC.replace('LLVM version: 22.1.2\n', ''))


def fake_profdata(folder: Path, name: str, version: str) -> None:
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "LLVM (http://llvm.org/):"\necho "  LLVM version {version}"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_find_profdata_takes_only_rustcs_major_version(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setattr(pgo_wheel, 'LLVM_HOME', str(tmp_path / 'absent'))
    fake_profdata(tmp_path, 'llvm-profdata', '14.0.6')
    with pytest.raises(SystemExit, match='apt-get install llvm-22'):
        pgo_wheel.find_profdata(22)
    fake_profdata(tmp_path, 'llvm-profdata-22', '22.1.2')
    assert pgo_wheel.find_profdata(22) == os.path.join(tmp_path, 'llvm-profdata-22')
