"""asyncpg cases against the machine's PostgreSQL (127.0.0.1:5432, database test), each run
with asyncio.run inside the request. Runs with SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH=16."""

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve


def run(coroutine_function):
    async def with_connection():
        conn = await asyncpg.connect(host='127.0.0.1', port=5432, user='postgres', database='test')
        try:
            return await coroutine_function(conn)
        finally:
            await conn.close()

    return lambda: asyncio.run(with_connection())


async def fetch(conn):
    return [list(row) for row in await conn.fetch('SELECT $1::int + $2::int', 1, 2)]


async def no_arguments(conn):
    return await conn.execute('SELECT 1')


async def many(conn):
    await conn.execute('CREATE TEMP TABLE db_asyncpg_items (id int, name text)')
    await conn.executemany('INSERT INTO db_asyncpg_items VALUES ($1, $2)', [(1, 'one'), (2, 'two'), (3, 'three')])
    return [row['name'] for row in await conn.fetch('SELECT name FROM db_asyncpg_items ORDER BY id')]


async def cursor(conn):
    async with conn.transaction():
        return [row[0] async for row in conn.cursor('SELECT generate_series(1, 3)')]


async def bad_sql(conn):
    await conn.execute('SELEC 1')


def refused():
    asyncio.run(asyncpg.connect(host='127.0.0.1', port=int(os.environ['CLOSED_PORT']), user='postgres'))


async def _concurrent():
    connections = [
        await asyncpg.connect(host='127.0.0.1', port=5432, user='postgres', database='test') for _ in range(5)
    ]
    locks = [asyncio.Lock() for _ in connections]

    async def one(i):
        async with locks[i % 5]:  # one operation at a time per connection
            return await connections[i % 5].fetchval('SELECT $1::int', i)

    try:
        return sum(await asyncio.gather(*(one(i) for i in range(50))))
    finally:
        for conn in connections:
            await conn.close()


serve(
    {
        'fetch': run(fetch),
        'no_arguments': run(no_arguments),
        'many': run(many),
        'cursor': run(cursor),
        'bad_sql': run(bad_sql),
        'refused': refused,
        'concurrent': lambda: asyncio.run(_concurrent()),
    }
)
