"""Exit spans for mysqlclient (`MySQLdb`): `execute` of every cursor class, as upstream
(`executemany` runs through it: one multi-row statement for an INSERT, else one per row).

mysqlclient's cursors are Python classes, so `BaseCursor.execute` is patched in place;
upstream wraps connections and cursors in `wrapt` proxies from `MySQLdb.connect` (a
connection made as `MySQLdb.connections.Connection(...)` is then missed).

Op name ``Mysql/MysqlClient/execute``, tags ``db.type`` = mysql, ``db.instance``,
``db.statement``, and ``db.sql.parameters`` when `plugin_sql_parameters_max_length` > 0 and
the call has arguments. When `MySQLdb` is PyMySQL under that name
(`pymysql.install_as_MySQLdb()`), the sw_pymysql plugin traces it instead.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._db import db_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://mysqlclient.readthedocs.io/']
component = Component.MysqlClient
hooked_modules = ['MySQLdb']
support_matrix = {'mysqlclient': {'>=3.10': ['2.1', '2.2', '2.3']}}
note = ''

_MYSQLCLIENT = int(component)


def _endpoint(cursor: Any) -> tuple[str, Any]:
    """(peer, database) of the cursor's connection: recorded when it was made (mysqlclient
    before 2.2 keeps neither its host nor its database), else read from it."""
    connection = cursor.connection
    cached = getattr(connection, '_sw_endpoint', None)
    if cached is None:
        host = getattr(connection, 'host', None) or connection.get_host_info().split(' ', 1)[0]
        cached = (f'{host}:{connection.port}', getattr(connection, 'db', None) or '')
    return cached


def _span(cursor: Any, query: Any, args: Any) -> Any:
    try:
        peer, database = _endpoint(cursor)
    except Exception:
        peer, database = '', ''
    return db_exit_span(
        'Mysql/MysqlClient/execute',
        peer,
        _MYSQLCLIENT,
        db_type='mysql',
        instance=database,
        statement=query,
        params=args if args or args == 0 else None,
    )


def _wrap_init(init):
    def _sw_init(this, *args, **kwargs):
        init(this, *args, **kwargs)
        try:
            host = kwargs.get('host') or 'localhost'
            database = kwargs.get('database', kwargs.get('db')) or ''
            this._sw_endpoint = (f'{host}:{this.port}', database)
        except Exception:
            pass

    return _sw_init


def _wrap_execute(execute):
    def _sw_execute(this, query, args=None):
        with _span(this, query, args):
            return execute(this, query, args)

    return _sw_execute


def install() -> None:
    import MySQLdb

    if hasattr(MySQLdb, 'install_as_MySQLdb'):
        return  # PyMySQL under the name MySQLdb: sw_pymysql traces it
    from MySQLdb.connections import Connection
    from MySQLdb.cursors import BaseCursor

    patch(Connection, '__init__', _wrap_init)
    patch(BaseCursor, 'execute', _wrap_execute)
