"""redis-py cases (sync commands, pipelines, a transaction, errors, and `redis.asyncio`)
against the machine's Redis on 127.0.0.1:6379; keys start with ``db_``."""

import asyncio
import os
import sys
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from case_server import serve

client = redis.Redis(host='127.0.0.1', port=6379, db=0)


def commands():
    return [
        client.set('db_redis_key', 'value'),
        client.get('db_redis_key'),
        client.setex('db_redis_ttl', 30, 'value'),
        client.ping(),
    ]


def pipeline():
    with client.pipeline(transaction=False) as pipe:
        pipe.set('db_redis_pipe', 'one').get('db_redis_pipe')
        return pipe.execute()


def transaction():
    pipe = client.pipeline()
    pipe.delete('db_redis_counter').incr('db_redis_counter').incrby('db_redis_counter', 2)
    return pipe.execute()


def server_error():
    client.set('db_redis_text', 'not a list')
    return client.lpush('db_redis_text', 'item')  # WRONGTYPE


def refused():
    return redis.Redis(host='127.0.0.1', port=int(os.environ['CLOSED_PORT'])).get('db_redis_key')


async def _fifty_gets_and_a_pipeline():
    from redis.asyncio import Redis

    aclient = Redis(host='127.0.0.1', port=6379, db=0)
    try:
        await aclient.set('db_redis_async', 'value')
        values = await asyncio.gather(*(aclient.get('db_redis_async') for _ in range(50)))
        async with aclient.pipeline(transaction=False) as pipe:
            pipe.get('db_redis_async').exists('db_redis_async')
            piped = await pipe.execute()
        return [sorted(set(values)), piped]
    finally:
        close = getattr(aclient, 'aclose', None) or aclient.close
        await close()


def asyncio_cases():
    return asyncio.run(_fifty_gets_and_a_pipeline())


serve(
    {
        'commands': commands,
        'pipeline': pipeline,
        'transaction': transaction,
        'server_error': server_error,
        'refused': refused,
        'asyncio': asyncio_cases,
    }
)
