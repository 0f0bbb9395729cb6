"""The agent's own cost per traced database or cache call: the sw_psycopg2 and sw_redis
wrappers around a stand-in driver method that does nothing, against the same method
untraced, inside an entry span (as in a request). No server is involved, so the difference
is the agent's work alone (span, tags, peer, the plugin's Python), not network noise.

    python bench/db_call_cost.py      # with the agent built in release mode (pip install .)
    python bench/db_call_cost.py --instructions   # per call, by callgrind (load-independent)

`--instructions` runs this file under valgrind's callgrind with 1,000 and 5,000 calls of
each wrapper (redis: SET and GET in turn; psycopg2: `execute` with one parameter), 100 per
entry span, and prints (instructions with 5,000 - with 1,000) / 4,000 for the application
thread, traced and plain; the difference is the agent's cost per call.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from skywalking import agent, config

config.init(
    agent_collector_backend_services='127.0.0.1:1',  # nothing listens: reporting costs nothing here
    agent_profile_active=False,
    agent_meter_reporter_active=False,
)
agent.start()

from skywalking._core import build_profile, get_context  # noqa: E402
from skywalking.plugins import sw_psycopg2, sw_redis  # noqa: E402


class _Connection:
    def get_dsn_parameters(self) -> dict:
        return {'host': '127.0.0.1', 'port': '5432', 'dbname': 'test'}


class _Cursor:
    connection = _Connection()

    def execute(self, query, vars=None):
        return None


class _Pool:
    connection_kwargs = {'host': '127.0.0.1', 'port': 6379}


class _Redis:
    connection_pool = _Pool()

    def execute_command(self, *args, **options):
        return None


def per_call(call, rounds: int = 300, calls: int = 100) -> float:
    """Best time per call over `rounds` entry spans of `calls` calls each, in seconds."""
    best = float('inf')
    for _ in range(rounds):
        with get_context().new_entry_span(op='/bench'):
            start = time.perf_counter()
            for _ in range(calls):
                call()
            best = min(best, (time.perf_counter() - start) / calls)
    return best


def loop(case: str, calls: int) -> None:
    """`calls` calls of one case (`redis`, `redis-plain`, `psycopg2`, `psycopg2-plain`), 100
    per entry span: what `--instructions` counts."""
    if case.startswith('redis'):
        client = _Redis()
        command = _Redis.execute_command
        if case == 'redis':
            command = sw_redis._wrap_execute_command(command)
        args = (('SET', 'key', 'value'), ('GET', 'key'))

        def call(i: int) -> None:
            command(client, *args[i & 1])
    else:
        cls = _Cursor
        if case == 'psycopg2':
            cls = sw_psycopg2._traced_class(_Cursor, sw_psycopg2._TracedCursor, slots=False)
        cursor = cls()
        query = 'SELECT * FROM users WHERE id = %s'

        def call(i: int) -> None:
            cursor.execute(query, (i,))

    for start in range(0, calls, 100):
        with get_context().new_entry_span(op='/bench'):
            for i in range(start, min(start + 100, calls)):
                call(i)


def application_instructions(case: str, calls: int) -> int:
    """Instructions of the application thread for `calls` calls of `case`, by callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                'valgrind',
                '--tool=callgrind',
                '--separate-threads=yes',
                f'--callgrind-out-file={tmp}/cg.out',
                sys.executable,
                __file__,
                '--loop',
                case,
                str(calls),
            ],
            # String hashes (and so dict probes) must not differ between the two runs.
            env={**os.environ, 'PYTHONHASHSEED': '0'},
            capture_output=True,
            check=True,
        )
        text = (Path(tmp) / 'cg.out-01').read_text()
    return int(re.search(r'^totals: (\d+)', text, re.MULTILINE).group(1))


def instructions(n1: int = 1000, n2: int = 5000) -> None:
    for name in ('redis', 'psycopg2'):
        per = {}
        for case in (name, f'{name}-plain'):
            per[case] = (application_instructions(case, n2) - application_instructions(case, n1)) // (n2 - n1)
        traced, plain = per[name], per[f'{name}-plain']
        print(f'{name}: {traced:,} instructions per traced call, {plain:,} plain, agent {traced - plain:,}')


def main() -> None:
    if sys.argv[1:2] == ['--loop']:
        loop(sys.argv[2], int(sys.argv[3]))
        return
    if sys.argv[1:2] == ['--instructions']:
        instructions()
        return
    query = 'SELECT * FROM users WHERE id = %s'
    plain_cursor = _Cursor()
    traced_cursor = sw_psycopg2._traced_class(_Cursor, sw_psycopg2._TracedCursor, slots=False)()
    plain = per_call(lambda: plain_cursor.execute(query, (1,)))
    traced = per_call(lambda: traced_cursor.execute(query, (1,)))
    print(f'_core build: {build_profile}')
    print(f'psycopg2 execute: {(traced - plain) * 1e6:.2f} us per call')
    config.plugin_sql_parameters_max_length = 512
    traced = per_call(lambda: traced_cursor.execute(query, (1,)))
    print(f'psycopg2 execute, db.sql.parameters on: {(traced - plain) * 1e6:.2f} us per call')
    client = _Redis()
    plain_command = _Redis.execute_command
    traced_command = sw_redis._wrap_execute_command(plain_command)
    plain = per_call(lambda: plain_command(client, 'GET', 'key'))
    traced = per_call(lambda: traced_command(client, 'GET', 'key'))
    print(f'redis GET: {(traced - plain) * 1e6:.2f} us per call')


if __name__ == '__main__':
    main()
