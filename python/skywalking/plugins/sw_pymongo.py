"""Exit spans for PyMongo 3.11 and 4.x, from PyMongo's own command monitoring
(`pymongo.monitoring`), which both series publish the same way, plus one span for a whole
`insert_many` / `bulk_write`, of `MongoClient` and (PyMongo 4.9+) of `AsyncMongoClient` alike:
the commands a bulk call sends are not traced apart.

Upstream patches `SocketInfo.command`, `_Bulk.execute` and `Cursor.__send_message`, which
PyMongo 4 renamed or removed, so upstream traces nothing there. The names are upstream's:
``MongoDB/<Command>Operation`` (``FindOperation`` for `find` and its `getMore`s,
``InsertOperation``, ``UpdateOperation``, ...), ``MongoDB/MixedBulkWriteOperation`` for a bulk
write; component MongoDB, layer Database, peer the server's ``host:port``; tags ``db.type`` =
MongoDB, ``db.instance`` (the database) and, with `plugin_pymongo_trace_parameters`,
``db.statement`` = ``<command> <its arguments>`` cut to `plugin_pymongo_parameters_max_length`.
The handshake (``hello``/``isMaster``) is not traced, as upstream.
"""

from __future__ import annotations

import contextvars
from typing import Any

from skywalking import Component, config
from skywalking._core import db_exit_span as _db_exit_span
from skywalking.plugins._common import failed, truncate
from skywalking.plugins._db import db_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://pymongo.readthedocs.io']
component = Component.MongoDB
hooked_modules = ['pymongo']
support_matrix = {'pymongo': {'>=3.10': ['3.11', '4.15', '4.20']}}
note = 'Tested against a protocol-level stand-in for MongoDB (OP_MSG), not a real server.'

_MONGODB = int(component)
_HANDSHAKE = frozenset({'hello', 'isMaster', 'ismaster'})
#: command arguments that are the driver's bookkeeping, not the operation's
_BOOKKEEPING = frozenset({'$db', 'lsid', '$clusterTime', '$readPreference', 'txnNumber', 'autocommit'})

_enabled = [False]
_in_bulk: contextvars.ContextVar[bool] = contextvars.ContextVar('sw_pymongo_bulk', default=False)
_open: dict[tuple, Any] = {}  # (request id, connection id) -> span
#: operation names by command name, and peers by server address, made once each (a few
#: entries: the cap only keeps a client that invents names from growing them for good)
_OPS: dict[str, str] = {}
_PEERS: dict[Any, str] = {}
_CACHED = 256


def _remember(cache: dict, key: Any, value: str) -> str:
    if len(cache) < _CACHED:
        cache[key] = value
    return value


def operation_name(command: str) -> str:
    if command == 'getMore':
        return 'FindOperation'
    return f'{command.capitalize()}Operation'


def _statement(command_name: str, command: Any) -> str:
    arguments = {key: value for key, value in dict(command).items() if key != command_name and key not in _BOOKKEEPING}
    return truncate(f'{command_name} {arguments}', config.plugin_pymongo_parameters_max_length)


def _listener_class() -> type:
    from pymongo import monitoring

    class Listener(monitoring.CommandListener):
        # PyMongo calls these for every command, after building the event: each attribute
        # of an event is a property (a Python call), so each is read once.
        def started(self, event: Any) -> None:
            if not _enabled[0]:
                return
            name = event.command_name
            if name in _HANDSHAKE or _in_bulk.get():
                return
            try:
                address = event.connection_id
                op = _OPS.get(name) or _remember(_OPS, name, f'MongoDB/{operation_name(name)}')
                peer = _PEERS.get(address) or _remember(_PEERS, address, '{}:{}'.format(*address[:2]))
                statement = _statement(name, event.command) if config.plugin_pymongo_trace_parameters else None
                span = _db_exit_span(op, peer, _MONGODB, 'MongoDB', event.database_name, statement)
                span.__enter__()
                _open[(event.request_id, address)] = span
            except Exception:
                failed('pymongo command started')

        def succeeded(self, event: Any) -> None:
            span = _open.pop((event.request_id, event.connection_id), None)
            if span is not None:
                span.__exit__(None, None, None)

        def failed(self, event: Any) -> None:
            span = _open.pop((event.request_id, event.connection_id), None)
            if span is not None:
                try:
                    span.log(f'{event.command_name} failed: {event.failure}')
                finally:
                    span.__exit__(None, None, None)

    return Listener


def _nodes(collection: Any) -> str:
    client = collection.database.client
    nodes = client.nodes
    if not nodes:
        try:
            nodes = client._topology_settings.seeds
        except Exception:
            nodes = ()
    return ','.join(f'{host}:{port}' for host, port in nodes)


def _bulk_span(collection: Any, statement: str | None) -> Any:
    return db_exit_span(
        'MongoDB/MixedBulkWriteOperation',
        _nodes(collection),
        _MONGODB,
        db_type='MongoDB',
        instance=collection.database.name,
        statement=statement,
    )


def _wrap_bulk(method, describe):
    def _sw_bulk(this, requests, *args, **kwargs):
        if not _enabled[0]:
            return method(this, requests, *args, **kwargs)
        statement = None
        if config.plugin_pymongo_trace_parameters:
            requests = list(requests)  # read twice: for the statement, then by PyMongo
            statement = truncate(''.join(describe(r) for r in requests), config.plugin_pymongo_parameters_max_length)
        token = _in_bulk.set(True)
        try:
            with _bulk_span(this, statement):
                return method(this, requests, *args, **kwargs)
        finally:
            _in_bulk.reset(token)

    return _sw_bulk


def _wrap_async_bulk(method, describe):
    """`_wrap_bulk` for `AsyncCollection`: the span covers the awaited call, and the commands it
    sends (in the same task, so they see `_in_bulk`) get none of their own."""

    async def _sw_bulk(this, requests, *args, **kwargs):
        if not _enabled[0]:
            return await method(this, requests, *args, **kwargs)
        statement = None
        if config.plugin_pymongo_trace_parameters:
            requests = list(requests)
            statement = truncate(''.join(describe(r) for r in requests), config.plugin_pymongo_parameters_max_length)
        token = _in_bulk.set(True)
        try:
            with _bulk_span(this, statement):
                return await method(this, requests, *args, **kwargs)
        finally:
            _in_bulk.reset(token)

    return _sw_bulk


def _describe_insert(document: Any) -> str:
    return f'insert {document} '


def _describe_request(request: Any) -> str:
    return f'{type(request).__name__} {getattr(request, "_doc", getattr(request, "_filter", ""))} '


def _disable() -> None:
    _enabled[0] = False


_registered: list[Any] = []


def install() -> None:
    from pymongo import monitoring
    from pymongo.collection import Collection

    if not _registered:  # PyMongo keeps listeners for good: one, switched off by uninstall
        listener = _listener_class()()
        monitoring.register(listener)
        _registered.append(listener)
    patch(Collection, 'insert_many', lambda method: _wrap_bulk(method, _describe_insert), on_restore=_disable)
    patch(Collection, 'bulk_write', lambda method: _wrap_bulk(method, _describe_request))
    try:  # PyMongo 4.9+
        from pymongo.asynchronous.collection import AsyncCollection
    except ImportError:
        AsyncCollection = None
    if AsyncCollection is not None:
        patch(AsyncCollection, 'insert_many', lambda method: _wrap_async_bulk(method, _describe_insert))
        patch(AsyncCollection, 'bulk_write', lambda method: _wrap_async_bulk(method, _describe_request))
    _enabled[0] = True
