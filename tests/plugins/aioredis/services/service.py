"""aioredis 2 cases against the machine's Redis on 127.0.0.1:6379; keys start with ``db_``."""

import asyncio
import os
import sys
from pathlib import Path

import aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve


def run(coroutine_function, port=6379):
    async def with_client():
        client = aioredis.Redis(host='127.0.0.1', port=port, db=0)
        try:
            return await coroutine_function(client)
        finally:
            await client.close()

    return lambda: asyncio.run(with_client())


async def commands(client):
    return [await client.set('db_aioredis_key', 'value'), await client.get('db_aioredis_key')]


async def pipeline(client):
    async with client.pipeline(transaction=False) as pipe:
        pipe.set('db_aioredis_pipe', 'one').get('db_aioredis_pipe')
        return await pipe.execute()


async def concurrent(client):
    await client.set('db_aioredis_async', 'value')
    return sorted(set(await asyncio.gather(*(client.get('db_aioredis_async') for _ in range(50)))))


async def server_error(client):
    await client.set('db_aioredis_text', 'not a list')
    await client.lpush('db_aioredis_text', 'item')


async def get(client):
    return await client.get('db_aioredis_key')


serve(
    {
        'commands': run(commands),
        'pipeline': run(pipeline),
        'concurrent': run(concurrent),
        'server_error': run(server_error),
        'refused': run(get, port=int(os.environ['CLOSED_PORT'])),
    }
)
