"""mysqlclient cases against the machine's MariaDB (127.0.0.1:3306, root, database test);
tables start with ``db_``. Runs with SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH=16."""

import os
import sys
from pathlib import Path

import MySQLdb
import MySQLdb.cursors

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve


def connect(**kwargs):
    return MySQLdb.connect(host='127.0.0.1', port=3306, user='root', password='', database='test', **kwargs)


def query():
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT %s + %s', (1, 2))
            return cur.fetchone()
    finally:
        conn.close()


def many():
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute('CREATE TEMPORARY TABLE db_mysqlclient_items (id int, name text)')
        rows = ((i, name) for i, name in [(1, 'one'), (2, 'two'), (3, 'three')])  # a generator
        cur.executemany('INSERT INTO db_mysqlclient_items VALUES (%s, %s)', rows)
        cur.executemany('UPDATE db_mysqlclient_items SET name = %s WHERE id = %s', [('uno', 1)])
        cur.execute('SELECT name FROM db_mysqlclient_items ORDER BY id')
        return cur.fetchall()
    finally:
        conn.close()


def dict_cursor():
    conn = connect(cursorclass=MySQLdb.cursors.DictCursor)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 AS one, 'b' AS two")
        row = cur.fetchone()
        streaming = conn.cursor(MySQLdb.cursors.SSCursor)
        streaming.execute('SELECT 2')
        return [row, list(streaming)]
    finally:
        conn.close()


def bad_sql():
    conn = connect()
    try:
        conn.cursor().execute('SELEC 1')
    finally:
        conn.close()


def refused():
    MySQLdb.connect(host='127.0.0.1', port=int(os.environ['CLOSED_PORT']), user='root', database='test')


serve({'query': query, 'many': many, 'dict_cursor': dict_cursor, 'bad_sql': bad_sql, 'refused': refused})
