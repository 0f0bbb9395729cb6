"""Exit spans for aioredis 2: `Redis.execute_command`, as upstream, and `Pipeline.execute`
(one span per pipeline, ``Redis/AIORedis/PIPELINE`` or ``Redis/AIORedis/MULTI``; upstream
does not see pipelines).

Op name ``Redis/AIORedis/<command>``, component AIORedis, layer Cache, and upstream's tags for
this plugin, which differ from the redis plugin's: ``db.type`` = Redis, ``db.instance`` (the
database number), ``db.statement`` (the command; for a pipeline its commands joined by
spaces).

aioredis 2 cannot be imported on Python 3.11 and later: its ``TimeoutError`` names
``asyncio.TimeoutError`` and ``builtins.TimeoutError`` as bases, one class since 3.11, so
``import aioredis`` raises ``TypeError: duplicate base class TimeoutError`` (an aioredis bug;
the project is no longer maintained, its successor is `redis.asyncio`, traced by sw_redis).
There the import hook sees no module, so this plugin installs nothing and logs nothing, and
the application gets aioredis's own error unchanged.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._db import cache_exit_span
from skywalking.plugins._patch import patch
from skywalking.plugins.sw_redis import pool_peer

link_vector = ['https://aioredis.readthedocs.io/']
component = Component.AIORedis
hooked_modules = ['aioredis']
support_matrix = {'aioredis': {'<3.11': ['2.0'], '>=3.11': []}}
note = (
    'Python 3.10 only: aioredis 2 itself cannot be imported on 3.11+ (`TypeError: duplicate base class '
    'TimeoutError`, an aioredis bug); there the plugin stays idle. Use `redis.asyncio` (sw_redis).'
)

_AIOREDIS = int(component)


def _database(client: Any) -> str:
    return str((getattr(client.connection_pool, 'connection_kwargs', None) or {}).get('db', 0))


def _wrap_execute_command(execute_command):
    async def _sw_execute_command(this, *args, **options):
        command = args[0] if args else ''
        with cache_exit_span(
            f'Redis/AIORedis/{command}',
            pool_peer(this.connection_pool),
            _AIOREDIS,
            cmd=command,
            db_instance=_database(this),
        ):
            return await execute_command(this, *args, **options)

    return _sw_execute_command


def _wrap_execute(execute):
    async def _sw_execute(this, *args, **kwargs):
        if not this.command_stack:
            return await execute(this, *args, **kwargs)
        names = ' '.join(str(command[0]) if command else '' for command, _options in this.command_stack)
        transaction = this.is_transaction is True or getattr(this, 'explicit_transaction', False) is True
        with cache_exit_span(
            'Redis/AIORedis/MULTI' if transaction else 'Redis/AIORedis/PIPELINE',
            pool_peer(this.connection_pool),
            _AIOREDIS,
            cmd=names,
            db_instance=_database(this),
        ):
            return await execute(this, *args, **kwargs)

    return _sw_execute


def install() -> None:
    from aioredis.client import Pipeline, Redis

    patch(Redis, 'execute_command', _wrap_execute_command)
    patch(Pipeline, 'execute', _wrap_execute)
