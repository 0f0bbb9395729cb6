"""HappyBase cases against the tests' stand-in for the HBase Thrift server
(127.0.0.1:$THRIFT_PORT); tables start with ``db_``."""

import os
import sys
from pathlib import Path

import happybase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve


def connect():
    return happybase.Connection('127.0.0.1', port=int(os.environ['THRIFT_PORT']))


def table_calls():
    connection = connect()
    try:
        connection.create_table('db_songs', {'info': {}})
        table = connection.table('db_songs')
        table.put(b'row-1', {b'info:song': b'Despacito'})
        table.put(b'row-2', {b'info:song': b'Hello'})
        one = table.row(b'row-1')
        two = table.rows([b'row-1', b'row-2'])
        scanned = [key for key, _ in table.scan(row_start=b'row-2')]
        table.delete(b'row-2')
        return [one, [key for key, _ in two], scanned]
    finally:
        connection.close()


def server_error():
    connect().table('db_songs').cells(b'row-1', b'info:song')  # getVer: unknown to the stand-in


serve({'table_calls': table_calls, 'server_error': server_error})
