"""`bench/instructions.py --native`: the cost charged to one shared object, read from a
callgrind profile (a hand-written one in callgrind's format, as valgrind 3.19 writes it)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))

import instructions

PROFILE = """\
# callgrind format
version: 1
positions: line
events: Ir ILmr

ob=(1) /usr/lib/libpython3.11.so
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 100 3
cob=(2) /venv/site-packages/skywalking/_core.cpython-311-x86_64-linux-gnu.so
cfi=(2) span.rs
cfn=(2) _core::span::stop
calls=1 5
+2 900 40

ob=(2)
fl=(2)
fn=(2)
5 300 20
cob=(1)
cfn=(3) PyContextVar_Reset
calls=1 7
+1 500 10
fi=(3) library/alloc/vec.rs
+3 50 2

ob=(1)
fn=(3)
7 500 10
"""


def test_an_objects_own_cost_leaves_out_what_it_calls_and_is_named_by_caller_lines_too():
    names = ['Ir', 'ILmr']
    # _core's object is first named on a `cob=` line, then referred to by its id alone.
    assert instructions.object_events(PROFILE, names, '/skywalking/_core.') == {'Ir': 350, 'ILmr': 22}
    assert instructions.object_events(PROFILE, names, 'libpython') == {'Ir': 600, 'ILmr': 13}
    assert instructions.object_events(PROFILE, names, '') == {'Ir': 950, 'ILmr': 35}
