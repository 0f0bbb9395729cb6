"""Exit spans for psycopg 3: `execute`, `executemany` and `stream` of its cursors, sync and
async (client-side, server-side, raw and client-binding cursors, and `Connection.execute`,
which runs through a cursor).

psycopg 3's cursors are Python classes, so their methods are patched in place; upstream
wraps connections and cursors in `wrapt` proxies instead, through `connect()` only (a
connection from a pool or from `Connection.connect` called some other way is then missed).

Tags in upstream's order: ``db.type`` = PostgreSQL, ``db.instance``, ``db.statement`` (a
`psycopg.sql` composition rendered to its SQL), ``db.sql.parameters`` when
`plugin_sql_parameters_max_length` > 0.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking.plugins._db import db_exit_span, sql_text
from skywalking.plugins._patch import patch

link_vector = ['https://www.psycopg.org/psycopg3/']
component = Component.Psycopg
hooked_modules = ['psycopg']
support_matrix = {'psycopg': {'>=3.11': ['3.1', '3.2', '3.3'], '>=3.10': ['3.0.18', '3.1', '3.2', '3.3']}}
note = 'Sync and async cursors; also through psycopg_pool.'

_PSYCOPG = int(component)


def _endpoint(cursor: Any) -> tuple[str, str]:
    """(peer, database) of the cursor's connection, read once per connection."""
    connection = cursor.connection
    cached = getattr(connection, '_sw_endpoint', None)
    if cached is None:
        info = connection.info
        cached = (f'{info.host}:{info.port}', info.dbname)
        try:
            connection._sw_endpoint = cached
        except AttributeError:
            pass
    return cached


def _span(cursor: Any, method: str, query: Any, params: Any, many: bool = False) -> Any:
    try:
        peer, database = _endpoint(cursor)
    except Exception:
        peer, database = '', ''
    return db_exit_span(
        f'PostgreSQL/Psycopg/{method}',
        peer,
        _PSYCOPG,
        db_type='PostgreSQL',
        instance=database,
        statement=sql_text(query, cursor),
        params=params,
        many=many,
    )


def _rows(params_seq: Any) -> Any:
    """`params_seq` readable twice (for the tag, then by psycopg) when parameters are tagged."""
    max_length = config.plugin_sql_parameters_max_length
    if max_length and max_length > 0 and not isinstance(params_seq, (list, tuple)):
        return list(params_seq)
    return params_seq


def _wrap_execute(execute):
    def _sw_execute(this, query, params=None, *args, **kwargs):
        with _span(this, 'execute', query, params):
            return execute(this, query, params, *args, **kwargs)

    return _sw_execute


def _wrap_executemany(executemany):
    def _sw_executemany(this, query, params_seq, *args, **kwargs):
        params_seq = _rows(params_seq)
        with _span(this, 'executemany', query, params_seq, many=True):
            return executemany(this, query, params_seq, *args, **kwargs)

    return _sw_executemany


def _wrap_stream(stream):
    def _sw_stream(this, query, params=None, *args, **kwargs):
        with _span(this, 'stream', query, params):
            yield from stream(this, query, params, *args, **kwargs)

    return _sw_stream


def _wrap_async_execute(execute):
    async def _sw_execute(this, query, params=None, *args, **kwargs):
        with _span(this, 'execute', query, params):
            return await execute(this, query, params, *args, **kwargs)

    return _sw_execute


def _wrap_async_executemany(executemany):
    async def _sw_executemany(this, query, params_seq, *args, **kwargs):
        params_seq = _rows(params_seq)
        with _span(this, 'executemany', query, params_seq, many=True):
            return await executemany(this, query, params_seq, *args, **kwargs)

    return _sw_executemany


def _wrap_async_stream(stream):
    async def _sw_stream(this, query, params=None, *args, **kwargs):
        with _span(this, 'stream', query, params):
            async for row in stream(this, query, params, *args, **kwargs):
                yield row

    return _sw_stream


def install() -> None:
    import psycopg

    patch(psycopg.Cursor, 'execute', _wrap_execute)
    patch(psycopg.Cursor, 'executemany', _wrap_executemany)
    patch(psycopg.Cursor, 'stream', _wrap_stream)
    patch(psycopg.ServerCursor, 'execute', _wrap_execute)
    patch(psycopg.AsyncCursor, 'execute', _wrap_async_execute)
    patch(psycopg.AsyncCursor, 'executemany', _wrap_async_executemany)
    patch(psycopg.AsyncCursor, 'stream', _wrap_async_stream)
    patch(psycopg.AsyncServerCursor, 'execute', _wrap_async_execute)
