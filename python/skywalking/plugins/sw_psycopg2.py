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


def _endpoint(connection: Any) -> tuple[str, str]:
    """(peer, database) of a connection, read once per connection (reading the connection's
    parameters costs several microseconds): the callers look for ``_sw_endpoint`` first."""
    cached = getattr(connection, '_sw_endpoint', None)
    if cached is None:
        dsn = connection.get_dsn_parameters()
        cached = (f'{dsn.get("host", "localhost")}:{dsn.get("port", "5432")}', dsn.get('dbname', ''))
        try:
            connection._sw_endpoint = cached
        except AttributeError:
            pass
    return cached


def _span(cursor: Any, op: str, query: Any, params: Any, many: bool = False) -> Any:
    """The started exit span of one call named `op` (a constant per method: no name is built
    per call): `_core.db_exit_span` directly (arguments by position: this runs on every
    query), through `db_exit_span` when parameters are tagged."""
    connection = cursor.connection
    peer, database = getattr(connection, '_sw_endpoint', None) or _endpoint(connection)
    statement = query if query.__class__ is str else sql_text(query, cursor)
    if params is not None:
        max_length = config.plugin_sql_parameters_max_length
        if max_length and max_length > 0:
            return db_exit_span(
                op,
                peer,
                _PSYCOPG,
                db_type='PostgreSQL',
                instance=database,
                statement=statement,
                params=params,
                many=many,
            )
    return _db_exit_span(op, peer, _PSYCOPG, 'PostgreSQL', database, statement)


def _wants_parameters() -> bool:
    max_length = config.plugin_sql_parameters_max_length
    return bool(max_length and max_length > 0)


class _TracedCursor:
    """Mixed in before the requested cursor class."""

    __slots__ = ()

    def execute(self, query, vars=None):
        max_length = config.plugin_sql_parameters_max_length
        if query.__class__ is not str or (vars is not None and max_length and max_length > 0):
            span = _span(self, 'PostgreSQL/Psycopg/execute', query, vars)
        else:
            # The common call, `_span` inlined (a frame less): a text query, no parameters tag.
            connection = self.connection
            peer, database = getattr(connection, '_sw_endpoint', None) or _endpoint(connection)
            span = _db_exit_span('PostgreSQL/Psycopg/execute', peer, _PSYCOPG, 'PostgreSQL', database, query)
        # Entered and left by direct calls, as `with` would, without binding the two methods.
        span.__enter__()
        try:
            result = super().execute(query, vars)
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.__exit__(None, None, None)
        return result

    def executemany(self, query, vars_list):
        if _wants_parameters() and not isinstance(vars_list, (list, tuple)):
            vars_list = list(vars_list)  # read twice: for the tag, then by psycopg2
        with _span(self, 'PostgreSQL/Psycopg/executemany', query, vars_list, many=True):
            return super().executemany(query, vars_list)

    def callproc(self, procname, parameters=None):
        arguments = ','.join(str(value) for value in parameters) if parameters else ''
        peer, database = _endpoint(self.connection)
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

    #: The traced subclass of psycopg2's cursor when the requested connection class keeps
    #: psycopg2's own `cursor()` (set by `_connection_class`), else None.
    _sw_cursor_class: type | None = None

    def cursor(self, *args, **kwargs):
        traced = self._sw_cursor_class
        if traced is not None and len(args) < 2 and self.cursor_factory is None:
            if not kwargs:
                # `conn.cursor()` and `conn.cursor(name)`: psycopg2's own method, which the
                # connection class did not override, asked for the traced cursor class.
                return _connection_cursor(self, *args, cursor_factory=traced)
            if kwargs.get('cursor_factory') is None:
                kwargs['cursor_factory'] = traced
                return super().cursor(*args, **kwargs)
        return _trace_cursor(super().cursor(*args, **kwargs))


#: psycopg2's `connection.cursor` (set with the first traced connection class): called
#: directly, it costs less than `super().cursor`.
_connection_cursor: Any = None


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
    global _connection_cursor
    from psycopg2.extensions import connection

    if factory is None:
        factory = connection
    if not isinstance(factory, type) or not issubclass(factory, connection):
        return factory  # a function making connections: left as it is
    if getattr(factory, '_sw_traced', False):
        return factory
    traced = _traced_class(factory, _TracedConnection, slots=False)
    if factory.cursor is connection.cursor:
        _connection_cursor = connection.cursor
        traced._sw_cursor_class = _traced_class(_base_cursor(), _TracedCursor, slots=True)
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
