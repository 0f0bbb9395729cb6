"""PyMySQL cases against the machine's MariaDB (127.0.0.1:3306, root, database test); tables
start with ``db_``. Runs with SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH=16."""

import os
import sys
from pathlib import Path

import pymysql
import pymysql.cursors

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve


def connect(**kwargs):
    return pymysql.connect(host='127.0.0.1', port=3306, user='root', password='', database='test', **kwargs)


def query():
    with connect() as conn, conn.cursor() as cur:
        cur.execute('SELECT %s + %s', (1, 2))
        return cur.fetchone()


def named_and_single():
    with connect() as conn, conn.cursor() as cur:
        cur.execute('SELECT %(a)s', {'a': 'named'})
        first = cur.fetchone()[0]
        cur.execute('SELECT %s', 7)  # a lone argument
        return [first, cur.fetchone()[0]]


def many():
    with connect() as conn, conn.cursor() as cur:
        cur.execute('CREATE TEMPORARY TABLE db_pymysql_items (id int, name text)')
        rows = [(1, 'one'), (2, 'two'), (3, 'three')]
        cur.executemany('INSERT INTO db_pymysql_items VALUES (%s, %s)', rows)
        cur.execute('SELECT name FROM db_pymysql_items ORDER BY id')
        return cur.fetchall()


def dict_cursor():
    with connect(cursorclass=pymysql.cursors.DictCursor) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 AS one, 'b' AS two")
        row = cur.fetchone()
    with connect() as conn, conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute('SELECT 2')
        return [row, list(cur)]


def bad_sql():
    with connect() as conn, conn.cursor() as cur:
        cur.execute('SELEC 1')


def refused():
    pymysql.connect(host='127.0.0.1', port=int(os.environ['CLOSED_PORT']), user='root', database='test')


serve(
    {
        'query': query,
        'named_and_single': named_and_single,
        'many': many,
        'dict_cursor': dict_cursor,
        'bad_sql': bad_sql,
        'refused': refused,
    }
)
