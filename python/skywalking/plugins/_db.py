"""Exit spans for database and cache calls.

::

    with db_exit_span('PostgreSQL/Psycopg/execute', peer, COMPONENT, db_type='PostgreSQL',
                      instance=dbname, statement=query, params=args):
        return execute(query, args)

    with cache_exit_span(f'Redis/{cmd}', peer, Component.Redis, cmd=cmd, key=key, cache_op='read'):
        return send(...)

The span comes back not started, with everything recorded (an exit span keeps its tags when
it starts): its layer and tags in one native call (`_core.tag_exit_span`; values that are
bytes are decoded there). A failure in the helper gives a `NoopSpan` and one log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from skywalking import Layer, config
from skywalking._core import get_context, tag_exit_span
from skywalking.plugins._common import as_text, failed, noop_span, truncate

_DATABASE = int(Layer.Database)
_CACHE = int(Layer.Cache)


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
    """A database call's exit span: layer Database (or `layer`), tags ``db.type``,
    ``db.instance`` (when given), ``db.statement`` (when given; bytes decoded, cut to
    `statement_max_length` plus ``...`` when that is positive) and ``db.sql.parameters``
    (only when `plugin_sql_parameters_max_length` > 0 and `params` is not None; see
    `sql_parameters`)."""
    try:
        span = get_context().new_exit_span(op, peer, component)
        if statement is not None and statement_max_length > 0:
            statement = truncate(as_text(statement), statement_max_length)
        max_length = config.plugin_sql_parameters_max_length
        if instance is not None and statement is not None:
            if params is None or not max_length or max_length <= 0:
                tags: tuple = ('db.type', db_type, 'db.instance', instance, 'db.statement', statement)
            else:
                parameters = sql_parameters(params, max_length, many)
                tags = ('db.type', db_type, 'db.instance', instance, 'db.statement', statement,
                        'db.sql.parameters', parameters)  # fmt: skip
        else:
            pairs = ['db.type', db_type]
            if instance is not None:
                pairs += ('db.instance', instance)
            if statement is not None:
                pairs += ('db.statement', statement)
            if params is not None and max_length and max_length > 0:
                pairs += ('db.sql.parameters', sql_parameters(params, max_length, many))
            tags = tuple(pairs)
        tag_exit_span(span, layer, tags)
        return span
    except Exception:
        failed('db_exit_span')
        return noop_span()


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
    """A cache call's exit span, layer Cache.

    Redis style (upstream's redis plugin): ``cache.type``, ``cache.key`` (``''`` without a
    key), ``cache.cmd``, ``cache.op`` (``read``/``write``/``''``). With `db_instance` given,
    the ``db.*`` style upstream's aioredis plugin uses instead: ``db.type`` = `cache_type`,
    ``db.instance``, ``db.statement`` = `cmd`.
    """
    try:
        span = get_context().new_exit_span(op, peer, component)
        if db_instance is not None:
            tags: tuple = ('db.type', cache_type, 'db.instance', db_instance, 'db.statement', cmd)
        else:
            tags = ('cache.type', cache_type, 'cache.key', '' if key is None else key, 'cache.cmd', cmd,
                    'cache.op', cache_op or '')  # fmt: skip
        tag_exit_span(span, _CACHE, tags)
        return span
    except Exception:
        failed('cache_exit_span')
        return noop_span()
