"""psycopg2 cases against the machine's PostgreSQL (127.0.0.1:5432, database test); tables
start with ``db_``. Runs with SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH=16."""

import os
import sys
from pathlib import Path

import psycopg2
import psycopg2.extras
import psycopg2.pool
from psycopg2 import sql

from skywalking import config

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

DSN = 'host=127.0.0.1 port=5432 dbname=test user=postgres'


def query():
    with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute('SELECT %s::int + %s', (1, 2))
        return cur.fetchone()


def long_parameters():
    with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute('SELECT length(%s)', ('x' * 20,))
        return cur.fetchone()


def no_parameters():
    """With plugin_sql_parameters_max_length = 0 there is no db.sql.parameters tag."""
    config.plugin_sql_parameters_max_length = 0
    try:
        with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
            cur.execute('SELECT %s::int', (5,))
            return cur.fetchone()
    finally:
        config.plugin_sql_parameters_max_length = 16


def many():
    conn = psycopg2.connect(DSN)
    try:
        cur = conn.cursor()
        cur.execute('CREATE TEMP TABLE db_psycopg2_items (id int, name text)')
        rows = ((i, name) for i, name in [(1, 'one'), (2, 'two'), (3, 'three')])  # a generator
        cur.executemany('INSERT INTO db_psycopg2_items VALUES (%s, %s)', rows)
        cur.execute('SELECT name FROM db_psycopg2_items ORDER BY id')
        return cur.fetchall()
    finally:
        conn.close()


def dict_cursor():
    conn = psycopg2.connect(DSN, cursor_factory=psycopg2.extras.RealDictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 AS one, 'b' AS two")
            row = cur.fetchone()
        named = conn.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor)
        named.execute('SELECT 2 AS two')
        return [row, named.fetchone()._asdict(), type(row).__name__]
    finally:
        conn.close()


def dict_connection():
    conn = psycopg2.connect(DSN, connection_factory=psycopg2.extras.DictConnection)
    try:
        cur = conn.cursor()
        cur.execute('SELECT 3 AS three')
        row = cur.fetchone()
        return [row['three'], type(cur).__name__, isinstance(conn, psycopg2.extras.DictConnection)]
    finally:
        conn.close()


def named_cursor():
    """Server-side cursors: the name by position (the traced `cursor()`'s fast path) and by
    keyword, with another keyword beside it."""
    conn = psycopg2.connect(DSN)
    try:
        with conn.cursor('db_named_positional') as cur:
            cur.execute('SELECT generate_series(1, %s)', (2,))
            values = [row[0] for row in cur.fetchall()]
        with conn.cursor(name='db_named_keyword', scrollable=True) as cur:
            cur.execute('SELECT %s::int', (3,))
            values.append(cur.fetchone()[0])
        return [values, cur.name, type(cur).__name__]
    finally:
        conn.close()


def callproc():
    with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
        cur.callproc('upper', ['abc'])
        return cur.fetchone()


def composed():
    with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL('SELECT {} + 1').format(sql.Literal(6)))
        return cur.fetchone()


def register_type():
    """C functions that want the real connection (upstream's proxies failed them)."""
    conn = psycopg2.connect(DSN)
    try:
        psycopg2.extras.register_default_jsonb(conn)
        psycopg2.extras.register_uuid(conn_or_curs=conn)
        cur = conn.cursor()
        cur.execute('SELECT \'{"a": 1}\'::jsonb')
        return cur.fetchone()
    finally:
        conn.close()


def pool():
    connections = psycopg2.pool.ThreadedConnectionPool(1, 2, DSN)
    try:
        conn = connections.getconn()
        with conn.cursor() as cur:
            cur.execute('SELECT 4')
            value = cur.fetchone()
        connections.putconn(conn)
        return value
    finally:
        connections.closeall()


def bad_sql():
    with psycopg2.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute('SELEC 1')


def refused():
    psycopg2.connect(f'host=127.0.0.1 port={os.environ["CLOSED_PORT"]} dbname=test user=postgres')


serve(
    {
        'query': query,
        'long_parameters': long_parameters,
        'no_parameters': no_parameters,
        'many': many,
        'dict_cursor': dict_cursor,
        'dict_connection': dict_connection,
        'named_cursor': named_cursor,
        'callproc': callproc,
        'composed': composed,
        'register_type': register_type,
        'pool': pool,
        'bad_sql': bad_sql,
        'refused': refused,
    }
)
