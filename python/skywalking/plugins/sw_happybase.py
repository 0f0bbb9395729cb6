"""Exit spans for HappyBase (HBase over Thrift): `Table.row`, `rows`, `cells`, `scan`, `put`,
`delete` and `Connection.create_table`, as upstream.

Op names as upstream: ``HBase/<operation>/<table>/<row>`` (the row key of the call; the first
of `rows`, ``''`` without one; `scan`'s `row_start`, ``None`` without one) and
``HBase/create/<table>``; component HBase, layer Database, peer ``host:port``, tags
``db.type`` = HBase and ``db.statement`` = ``''``. `scan` returns a generator: upstream's span
ends before the first row is read; here it lasts while the scan is read.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._common import as_text
from skywalking.plugins._db import db_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://happybase.readthedocs.io']
component = Component.HBase
hooked_modules = ['happybase']
support_matrix = {'happybase': {'>=3.10': ['1.2.0']}}
note = 'Tested against a protocol-level stand-in for the HBase Thrift server, not a real HBase.'

_HBASE = int(component)


def _span(connection: Any, op: str) -> Any:
    return db_exit_span(op, f'{connection.host}:{connection.port}', _HBASE, db_type='HBase', statement='')


def _key(row: Any) -> str:
    return as_text(row) if isinstance(row, (bytes, bytearray)) else str(row)


def _wrap_row_call(method, name: str, first_row):
    def _sw_call(this, *args, **kwargs):
        op = f'HBase/{name}/{_key(this.name)}/{_key(first_row(args, kwargs))}'
        with _span(this.connection, op):
            return method(this, *args, **kwargs)

    return _sw_call


def _row(args: tuple, kwargs: dict) -> Any:
    return kwargs['row'] if 'row' in kwargs else (args[0] if args else '')


def _rows(args: tuple, kwargs: dict) -> Any:
    rows = kwargs['rows'] if 'rows' in kwargs else (args[0] if args else None)
    return rows[0] if isinstance(rows, list) and rows else ''


def _row_start(args: tuple, kwargs: dict) -> Any:
    return kwargs['row_start'] if 'row_start' in kwargs else (args[0] if args else None)


def _wrap_scan(scan):
    def _sw_scan(this, *args, **kwargs):
        op = f'HBase/scan/{_key(this.name)}/{_key(_row_start(args, kwargs))}'
        with _span(this.connection, op):
            yield from scan(this, *args, **kwargs)

    return _sw_scan


def _wrap_create_table(create_table):
    def _sw_create_table(this, name, families):
        with _span(this, f'HBase/create/{_key(name)}'):
            return create_table(this, name, families)

    return _sw_create_table


def install() -> None:
    from happybase import Connection, Table

    patch(Table, 'row', lambda method: _wrap_row_call(method, 'row', _row))
    patch(Table, 'rows', lambda method: _wrap_row_call(method, 'rows', _rows))
    patch(Table, 'cells', lambda method: _wrap_row_call(method, 'cells', _row))
    patch(Table, 'put', lambda method: _wrap_row_call(method, 'put', _row))
    patch(Table, 'delete', lambda method: _wrap_row_call(method, 'delete', _row))
    patch(Table, 'scan', _wrap_scan)
    patch(Connection, 'create_table', _wrap_create_table)
