"""Exit spans for psycopg2: `execute`, `executemany` and `callproc` of every cursor.

psycopg2's connection and cursor are C types whose methods cannot be replaced. Upstream wraps
every connection and cursor in a `wrapt` proxy, which costs each call and makes them fail
`register_type` and other C functions that want the real objects. Here `psycopg2.connect`
makes the connection from a subclass of the requested connection class (by default
`psycopg2.extensions.connection`), whose `cursor()` hands out cursors of a subclass of the
requested cursor class with the three methods traced. Connections and cursors stay the
library's own types (`isinstance`, `register_type`, `psycopg2.extras`, pools, ``with``),
and a `cursor_factory` of the application's own (`DictCursor`, `RealDictCursor`, ...) keeps
its behaviour.

Tags in upstream's order: ``db.type`` = PostgreSQL, ``db.instance``, ``db.statement``, and
``db.sql.parameters`` when `plugin_sql_parameters_max_length` > 0 (not for `callproc`,
whose statement is ``name(arg1,arg2)`` as upstream).
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking._core import db_exit_span as _db_exit_span
from skywalking.plugins._db import db_exit_span, sql_text
from skywalking.plugins._patch import patch

link_vector = ['https://www.psycopg.org/']
component = Component.Psycopg
hooked_modules = ['psycopg2']
support_matrix = {'psycopg2-binary': {'>=3.10': ['2.9.5', '2.9.13']}}
note = 'Also the source distribution `psycopg2`, which has the same module.'

_PSYCOPG = int(component)

#: requested class -> its traced subclass (connections and cursors)
_traced_classes: dict[type, type] = {}


def _endpoint(cursor: Any) -> tuple[str, str]:
    """(peer, database) of the cursor's connection, read once per connection (reading the
    connection's parameters costs several microseconds)."""
    connection = cursor.connection
    cached = getattr(connection, '_sw_endpoint', None)
    if cached is None:
        dsn = connection.get_dsn_parameters()
        cached = (f'{dsn.get("host", "localhost")}:{dsn.get("port", "5432")}', dsn.get('dbname', ''))
        try:
            connection._sw_endpoint = cached
        except AttributeError:
            pass
    return cached


def _span(cursor: Any, method: str, query: Any, params: Any, many: bool = False) -> Any:
    """The started exit span of one call: `_core.db_exit_span` directly (arguments by
    position: this runs on every query), through `db_exit_span` when parameters are tagged."""
    peer, database = _endpoint(cursor)
    statement = query if query.__class__ is str else sql_text(query, cursor)
    if params is not None and _wants_parameters():
        return db_exit_span(
            f'PostgreSQL/Psycopg/{method}',
            peer,
            _PSYCOPG,
            db_type='PostgreSQL',
            instance=database,
            statement=statement,
            params=params,
            many=many,
        )
    return _db_exit_span(f'PostgreSQL/Psycopg/{method}', peer, _PSYCOPG, 'PostgreSQL', database, statement)


def _wants_parameters() -> bool:
    max_length = config.plugin_sql_parameters_max_length
    return bool(max_length and max_length > 0)


class _TracedCursor:
    """Mixed in before the requested cursor class."""

    __slots__ = ()

    def execute(self, query, vars=None):
        with _span(self, 'execute', query, vars):
            return super().execute(query, vars)

    def executemany(self, query, vars_list):
        if _wants_parameters() and not isinstance(vars_list, (list, tuple)):
            vars_list = list(vars_list)  # read twice: for the tag, then by psycopg2
        with _span(self, 'executemany', query, vars_list, many=True):
            return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        arguments = ','.join(str(value) for value in parameters) if parameters else ''
        peer, database = _endpoint(self)
        with db_exit_span(
            'PostgreSQL/Psycopg/callproc',
            peer,
            _PSYCOPG,
            db_type='PostgreSQL',
            instance=database,
            statement=f'{procname}({arguments})',
        ):
            return super().callproc(procname, parameters)


class _TracedConnection:
    """Mixed in before the requested connection class: its cursors are traced."""

    def cursor(self, *args, **kwargs):
        if (
            type(self)._sw_plain_cursor
            and len(args) < 2
            and kwargs.get('cursor_factory') is None
            and self.cursor_factory is None
        ):
            kwargs['cursor_factory'] = _traced_class(_base_cursor(), _TracedCursor, slots=True)
            return super().cursor(*args, **kwargs)
        return _trace_cursor(super().cursor(*args, **kwargs))


def _base_cursor() -> type:
    from psycopg2.extensions import cursor

    return cursor


def _traced_class(cls: type, mixin: type, slots: bool) -> type:
    traced = _traced_classes.get(cls)
    if traced is None:
        namespace: dict[str, Any] = {'__module__': cls.__module__, '__qualname__': cls.__qualname__}
        if slots:
            namespace['__slots__'] = ()
        traced = type(cls.__name__, (mixin, cls), namespace)
        traced._sw_traced = True
        _traced_classes[cls] = traced
    return traced


def _trace_cursor(cursor: Any) -> Any:
    """`cursor` with its class switched to the traced subclass (possible for cursor classes
    written in Python, as every `cursor_factory` is; the C base class itself is traced by
    being asked for the traced subclass in the first place)."""
    cls = type(cursor)
    if getattr(cls, '_sw_traced', False) or cls is _base_cursor():
        return cursor
    try:
        cursor.__class__ = _traced_class(cls, _TracedCursor, slots=True)
    except TypeError:
        pass  # a layout that does not allow it: left untraced
    return cursor


def _connection_class(factory: Any) -> Any:
    from psycopg2.extensions import connection

    if factory is None:
        factory = connection
    if not isinstance(factory, type) or not issubclass(factory, connection):
        return factory  # a function making connections: left as it is
    if getattr(factory, '_sw_traced', False):
        return factory
    traced = _traced_class(factory, _TracedConnection, slots=False)
    traced._sw_plain_cursor = factory.cursor is connection.cursor
    return traced


def _wrap_connect(connect):
    def _sw_connect(dsn=None, connection_factory=None, cursor_factory=None, **kwargs):
        try:
            connection_factory = _connection_class(connection_factory)
        except Exception:
            pass
        return connect(dsn, connection_factory=connection_factory, cursor_factory=cursor_factory, **kwargs)

    return _sw_connect


def install() -> None:
    import psycopg2

    patch(psycopg2, 'connect', _wrap_connect)
