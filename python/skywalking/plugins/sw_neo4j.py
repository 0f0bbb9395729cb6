"""Exit spans for the Neo4j driver 5: `run` of sessions and transactions, sync and async,
with upstream's op names (``Neo4j/Session/run``, ``Neo4j/AsyncSession/run``,
``Neo4j/Transaction/run``, ``Neo4j/AsyncTransaction/run``).

A span covers sending the query and receiving its header (records are fetched lazily, as the
application reads them). Tags in upstream's order: ``db.type`` = Neo4j, ``db.instance`` (the
database, ``''`` for the default one), ``db.statement`` (a `neo4j.Query`'s text), and, when
`plugin_sql_parameters_max_length` > 0 and there are parameters, ``db.sql.parameters`` =
``[<parameters as JSON, cut to the limit>]``. Upstream's wrappers require the parameters
argument, so ``session.run(query)`` without it raised a TypeError there.
"""

from __future__ import annotations

import json
from typing import Any

from skywalking import Component, config
from skywalking.plugins._common import truncate
from skywalking.plugins._db import db_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://neo4j.com/docs/python-manual/5/']
component = Component.Neo4j
hooked_modules = ['neo4j']
support_matrix = {'neo4j': {'>=3.10': ['5.0', '5.28']}}
note = 'Tested against a protocol-level stand-in for Neo4j (Bolt 4.4), not a real server.'

_NEO4J = int(component)


def _peer(address: Any) -> str:
    try:
        return f'{address.host}:{address.port}'
    except Exception:
        return ''


def _span(op: str, peer: str, database: Any, query: Any, parameters: Any, kwargs: dict) -> Any:
    max_length = config.plugin_sql_parameters_max_length
    text = None
    if max_length and max_length > 0 and (parameters or kwargs):
        try:
            merged = dict(parameters or {}, **kwargs)
            text = f'[{truncate(json.dumps(merged, ensure_ascii=False, default=str), max_length)}]'
        except Exception:
            text = None
    span = db_exit_span(
        op, peer, _NEO4J, db_type='Neo4j', instance=database or '', statement=getattr(query, 'text', query)
    )
    if text is not None:
        try:
            span.set_tag('db.sql.parameters', text, False)
        except Exception:
            pass
    return span


def _wrap_session_run(run, op: str):
    def _sw_run(this, query, parameters=None, **kwargs):
        with _span(op, _peer(this._pool.address), this._config.database, query, parameters, kwargs):
            return run(this, query, parameters, **kwargs)

    return _sw_run


def _wrap_transaction_run(run, op: str):
    def _sw_run(this, query, parameters=None, **kwargs):
        with _span(op, _peer(this._connection.unresolved_address), this._database, query, parameters, kwargs):
            return run(this, query, parameters, **kwargs)

    return _sw_run


def _wrap_async_session_run(run, op: str):
    async def _sw_run(this, query, parameters=None, **kwargs):
        with _span(op, _peer(this._pool.address), this._config.database, query, parameters, kwargs):
            return await run(this, query, parameters, **kwargs)

    return _sw_run


def _wrap_async_transaction_run(run, op: str):
    async def _sw_run(this, query, parameters=None, **kwargs):
        with _span(op, _peer(this._connection.unresolved_address), this._database, query, parameters, kwargs):
            return await run(this, query, parameters, **kwargs)

    return _sw_run


def install() -> None:
    from neo4j import AsyncSession, Session
    from neo4j._async.work.transaction import AsyncTransactionBase
    from neo4j._sync.work.transaction import TransactionBase

    patch(Session, 'run', lambda run: _wrap_session_run(run, 'Neo4j/Session/run'))
    patch(AsyncSession, 'run', lambda run: _wrap_async_session_run(run, 'Neo4j/AsyncSession/run'))
    patch(TransactionBase, 'run', lambda run: _wrap_transaction_run(run, 'Neo4j/Transaction/run'))
    patch(AsyncTransactionBase, 'run', lambda run: _wrap_async_transaction_run(run, 'Neo4j/AsyncTransaction/run'))
