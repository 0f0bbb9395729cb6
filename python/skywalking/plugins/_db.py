"""Exit spans for database and cache calls.

::

    with db_exit_span('PostgreSQL/Psycopg/execute', peer, COMPONENT, db_type='PostgreSQL',
                      instance=dbname, statement=query, params=args):
        return execute(query, args)

    with cache_exit_span(f'Redis/{cmd}', peer, Component.Redis, cmd=cmd, key=key, cache_op='read'):
        return send(...)

The span comes back opened, tagged and started by one native call (`_core.db_exit_span`,
`_core.cache_exit_span`; values that are bytes are decoded there), for the `with` that must
follow at once: entering it only takes note (call `__enter__()` when not using `with`). The
plugins of the busiest drivers call those two directly, with positional arguments. A failure
gives a `NoopSpan` (not started) and one log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skywalking import Layer, config
from skywalking._core import cache_exit_span as _cache_exit_span
from skywalking._core import db_exit_span as _db_exit_span
from skywalking.plugins._common import as_text, failed, noop_span, truncate

_DATABASE = int(Layer.Database)


def sql_text(query: Any, context: Any = None) -> str:
    """The SQL of `query`: text as given, bytes decoded, a composition of the driver's ``sql``
    module (psycopg2, psycopg) rendered through ``as_string(context)``, anything else ``str``."""
    if isinstance(query, str):
        return query
    as_string = getattr(query, 'as_string', None)
    if as_string is not None:
        try:
            return as_string(context)
        except Exception:
            pass
    return as_text(query)


def sql_parameters(params: Any, max_length: int, many: bool = False) -> str:
    """``db.sql.parameters`` as upstream writes it: ``[v1,v2]`` with the joined values cut to
    `max_length` characters plus ``...``; with `many` (``executemany``), ``[[a,b],[c,d]]``
    where the whole list stops with ``...`` once longer than `max_length`."""
    if not many:
        if isinstance(params, dict):
            params = params.values()
        elif isinstance(params, (str, bytes)) or not hasattr(params, '__iter__'):
            params = (params,)  # one value (pymysql, mysqlclient take a lone argument)
        return f'[{truncate(",".join(str(value) for value in params), max_length)}]'
    parts: list[str] = []
    total = 0
    for row in params:
        values = row.values() if isinstance(row, dict) else row
        text = f'[{",".join(str(value) for value in values)}]'
        total += len(text)
        if total > max_length:
            parts.append(f'{text[: max_length - total]}...')
            break
        parts.append(text)
    return f'[{",".join(parts)}]'


def db_exit_span(
    op: str,
    peer: str,
    component: int,
    *,
    db_type: str,
    instance: Any = None,
    statement: Any = None,
    params: Iterable[Any] | None = None,
    many: bool = False,
    statement_max_length: int = 0,
    layer: int = _DATABASE,
) -> Any:
    """A database call's exit span, started (see the module's documentation): layer Database
    (or `layer`), tags ``db.type``, ``db.instance`` (when given), ``db.statement`` (when given;
    bytes decoded, cut to `statement_max_length` plus ``...`` when that is positive) and
    ``db.sql.parameters`` (only when `plugin_sql_parameters_max_length` > 0 and `params` is
    not None; see `sql_parameters`)."""
    parameters = None
    if params is not None:
        max_length = config.plugin_sql_parameters_max_length
        if max_length and max_length > 0:
            try:
                parameters = sql_parameters(params, max_length, many)
            except Exception:
                failed('db_exit_span')
                return noop_span()
    return _db_exit_span(op, peer, component, db_type, instance, statement, parameters, statement_max_length, layer)


def cache_exit_span(
    op: str,
    peer: str,
    component: int,
    *,
    cmd: Any,
    key: Any = None,
    cache_op: str | None = None,
    cache_type: str = 'Redis',
    db_instance: Any = None,
) -> Any:
    """A cache call's exit span, layer Cache, started (see the module's documentation).

    Redis style (upstream's redis plugin): ``cache.type``, ``cache.key`` (``''`` without a
    key), ``cache.cmd``, ``cache.op`` (``read``/``write``/``''``). With `db_instance` given,
    the ``db.*`` style upstream's aioredis plugin uses instead: ``db.type`` = `cache_type`,
    ``db.instance``, ``db.statement`` = `cmd`.
    """
    return _cache_exit_span(op, peer, component, cmd, key, cache_op, cache_type, db_instance)
