"""Exit spans for asyncpg: the protocol calls that run a statement (`bind_execute`,
`bind_execute_many`, `bind` for cursors, `query` for statements without arguments), as
upstream, with upstream's op name ``PostgreSQL/AsyncPG/bind`` for all of them.

Upstream's wrappers take the statement and arguments positionally, while asyncpg (0.27 and
later) passes them by keyword (``state=``, ``args=``), so there every `fetch` and `execute`
with arguments failed with a TypeError; here both ways are read. Upstream also formats the
arguments of `executemany` by iterating them, which empties an iterator before asyncpg reads
it; here arguments that are not a list or tuple are not listed.

Tags: ``db.type`` = PostgreSQL, ``db.instance``, ``db.statement``, and ``db.sql.parameters``
when `plugin_sql_parameters_max_length` > 0 (``[]`` for a statement without arguments, as
upstream).
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._db import db_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://github.com/MagicStack/asyncpg']
component = Component.AsyncPG
hooked_modules = ['asyncpg']
support_matrix = {'asyncpg': {'>=3.11': ['0.27', '0.29', '0.32'], '>=3.10': ['0.25', '0.27', '0.29', '0.32']}}
note = 'asyncpg 0.25 and 0.26 have no wheels for Python 3.11 and later.'

_ASYNCPG = int(component)
_UNKNOWN = ('<unavailable>', '<unavailable>')


def _wrap_init(init):
    def _sw_init(this, *args, **kwargs):
        init(this, *args, **kwargs)
        try:
            addr = this._addr
            peer = addr if isinstance(addr, str) else f'{addr[0]}:{addr[1]}'
            this._protocol._sw_endpoint = (peer, this._params.database)
        except Exception:
            pass

    return _sw_init


def _span(protocol: Any, query: Any, params: Any, many: bool = False) -> Any:
    peer, database = getattr(protocol, '_sw_endpoint', _UNKNOWN)
    if many and not isinstance(params, (list, tuple)):
        params = None
    return db_exit_span(
        'PostgreSQL/AsyncPG/bind',
        peer,
        _ASYNCPG,
        db_type='PostgreSQL',
        instance=database,
        statement=query,
        params=params,
        many=many,
    )


def _statement(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """(query, arguments) of a bind call, given positionally or by keyword."""
    state = kwargs['state'] if 'state' in kwargs else (args[0] if args else None)
    params = kwargs['args'] if 'args' in kwargs else (args[1] if len(args) > 1 else None)
    return getattr(state, 'query', ''), params


def _wrap_bind(bind, many: bool = False):
    async def _sw_bind(this, *args, **kwargs):
        query, params = _statement(args, kwargs)
        with _span(this, query, params, many):
            return await bind(this, *args, **kwargs)

    return _sw_bind


def _wrap_query(query_method):
    async def _sw_query(this, *args, **kwargs):
        query = kwargs['query'] if 'query' in kwargs else (args[0] if args else '')
        with _span(this, query, ()):
            return await query_method(this, *args, **kwargs)

    return _sw_query


def install() -> None:
    from asyncpg.connection import Connection
    from asyncpg.protocol import Protocol

    patch(Connection, '__init__', _wrap_init)
    patch(Protocol, 'bind', _wrap_bind)
    patch(Protocol, 'bind_execute', _wrap_bind)
    patch(Protocol, 'bind_execute_many', lambda original: _wrap_bind(original, many=True))
    patch(Protocol, 'query', _wrap_query)
