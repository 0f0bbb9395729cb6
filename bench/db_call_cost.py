"""The agent's own cost per traced database or cache call: the sw_psycopg2 and sw_redis
wrappers around a stand-in driver method that does nothing, against the same method
untraced, inside an entry span (as in a request). No server is involved, so the difference
is the agent's work alone (span, tags, peer, the plugin's Python), not network noise.

    python bench/db_call_cost.py      # with the agent built in release mode (pip install .)
"""

from __future__ import annotations

import time

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


def main() -> None:
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
