"""Exit spans for PyMySQL: `Cursor.execute`, as upstream (so every cursor class, and
`executemany`, which runs through `execute`: one span per statement it sends).

Op name ``Mysql/PyMsql/execute`` (upstream's spelling, kept: the backend keys on it), tags
``db.type`` = mysql, ``db.instance``, ``db.statement``, and ``db.sql.parameters`` when
`plugin_sql_parameters_max_length` > 0 and the call has arguments. Upstream records its tags
after the call, so a failing statement had none; here they are recorded before it.
"""

from __future__ import annotations

from skywalking import Component
from skywalking.plugins._db import db_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://pymysql.readthedocs.io/en/latest/']
component = Component.PyMysql
hooked_modules = ['pymysql']
support_matrix = {'pymysql': {'>=3.10': ['1.0', '1.1', '1.2']}}
note = ''

_PYMYSQL = int(component)


def _wrap_execute(execute):
    def _sw_execute(this, query, args=None):
        connection = this.connection
        database = connection.db
        with db_exit_span(
            'Mysql/PyMsql/execute',
            f'{connection.host}:{connection.port}',
            _PYMYSQL,
            db_type='mysql',
            instance=database or '',
            statement=query,
            params=args if args or args == 0 else None,
        ):
            return execute(this, query, args)

    return _sw_execute


def install() -> None:
    from pymysql.cursors import Cursor

    patch(Cursor, 'execute', _wrap_execute)
