"""psycopg 3 cases, sync and async, against the machine's PostgreSQL (127.0.0.1:5432,
database test). Runs with SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH=16."""

import asyncio
import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

DSN = 'host=127.0.0.1 port=5432 dbname=test user=postgres'


def query():
    with psycopg.connect(DSN) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute('SELECT %s::int + %s AS sum', (1, 2))
        return cur.fetchone()


def connection_execute():
    with psycopg.connect(DSN) as conn:
        return conn.execute('SELECT %(a)s::text', {'a': 'named'}).fetchone()


def many():
    with psycopg.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute('CREATE TEMP TABLE db_psycopg_items (id int, name text)')
        rows = ((i, name) for i, name in [(1, 'one'), (2, 'two'), (3, 'three')])  # a generator
        cur.executemany('INSERT INTO db_psycopg_items VALUES (%s, %s)', rows)
        cur.execute('SELECT name FROM db_psycopg_items ORDER BY id')
        return cur.fetchall()


def stream():
    with psycopg.connect(DSN) as conn, conn.cursor() as cur:
        return [row[0] for row in cur.stream('SELECT generate_series(1, %s)', (3,))]


def server_cursor():
    with psycopg.connect(DSN) as conn, conn.cursor(name='db_psycopg_named') as cur:
        cur.execute('SELECT generate_series(1, 4)')
        return [row[0] for row in cur]


def composed():
    with psycopg.connect(DSN) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL('SELECT {} + 1').format(sql.Literal(6)))
        return cur.fetchone()


def bad_sql():
    with psycopg.connect(DSN) as conn:
        conn.execute('SELEC 1')


def refused():
    psycopg.connect(f'host=127.0.0.1 port={os.environ["CLOSED_PORT"]} dbname=test user=postgres')


async def _concurrent():
    connections = [await psycopg.AsyncConnection.connect(DSN) for _ in range(5)]

    async def one(i):
        async with connections[i % 5].cursor() as cur:
            await cur.execute('SELECT %s::int', (i,))
            return (await cur.fetchone())[0]

    try:
        values = await asyncio.gather(*(one(i) for i in range(50)))
        async with connections[0].cursor() as cur:
            streamed = [row[0] async for row in cur.stream('SELECT generate_series(1, 2)')]
        return [sum(values), streamed]
    finally:
        for conn in connections:
            await conn.close()


def async_queries():
    return asyncio.run(_concurrent())


serve(
    {
        'query': query,
        'connection_execute': connection_execute,
        'many': many,
        'stream': stream,
        'server_cursor': server_cursor,
        'composed': composed,
        'bad_sql': bad_sql,
        'refused': refused,
        'async_queries': async_queries,
    }
)
