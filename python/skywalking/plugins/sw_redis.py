"""Exit spans for redis-py: commands, pipelines and transactions, sync and `redis.asyncio`.

Upstream hooks `Connection.send_command`, so a span there covers only the sending of a
command (not the reply, and not a server error in the reply), pipelines are not seen, and
`redis.asyncio` is not traced. Here the span covers the whole call as the application makes
it: `Redis.execute_command` (connection from the pool, send, reply, redis-py's retries) and
`Pipeline.execute` (one span per pipeline, ``Redis/PIPELINE``, or ``Redis/MULTI`` for a
transaction, as redis-py itself names them), for `redis.Redis` and `redis.asyncio.Redis`.

Tags as upstream: ``cache.type`` = Redis, ``cache.key`` (the command's first argument),
``cache.cmd``, ``cache.op`` (read / write / empty, from upstream's and the Java agent's
command lists, without upstream's trailing-space typos). A pipeline's ``cache.cmd`` is its
command names joined by spaces, its key the first command's key and its op ``write`` when
any command writes.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking._core import cache_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://github.com/redis/redis-py']
component = Component.Redis
hooked_modules = ['redis']
support_matrix = {'redis': {'>=3.10': ['3.5', '4.5', '5.3', '6.4', '7.4', '8.2']}}
note = 'Commands, pipelines and transactions; `redis.Redis` and (4.2+) `redis.asyncio.Redis`.'

_REDIS = int(component)

# The command lists of upstream's plugin (the Java agent's defaults), with the trailing
# spaces of upstream's 'SETEX ', 'INCR ', ... removed so that those commands match.
_WRITE = frozenset(
    'GETSET SET SETBIT SETEX SETNX SETRANGE STRLEN MSET MSETNX PSETEX INCR INCRBY INCRBYFLOAT DECR DECRBY APPEND '
    'HMSET HSET HSETNX HINCRBY HINCRBYFLOAT HDEL RPOPLPUSH RPUSH RPUSHX LPUSH LPUSHX LREM LTRIM LSET BRPOPLPUSH '
    'LINSERT SADD SDIFF SDIFFSTORE SINTERSTORE SISMEMBER SREM SUNION SUNIONSTORE SINTER ZADD ZINCRBY ZINTERSTORE '
    'ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREM ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREVRANGE '
    'ZREVRANGEBYSCORE ZREVRANK ZUNIONSTORE XADD XDEL DEL XTRIM'.split()
)
_READ = frozenset(
    'GETRANGE GETBIT MGET HVALS HKEYS HLEN HEXISTS HGET HGETALL HMGET BLPOP BRPOP LINDEX LLEN LPOP LRANGE RPOP '
    'SCARD SRANDMEMBER SPOP SSCAN SMOVE ZLEXCOUNT ZSCORE ZSCAN ZCARD ZCOUNT XGET GET XREAD XLEN XRANGE '
    'XREVRANGE'.split()
)
_OPS = {**dict.fromkeys(_READ, 'read'), **dict.fromkeys(_WRITE, 'write')}


def cache_op(command: Any) -> str:
    """``'read'``, ``'write'`` or ``''`` for a command name (any case)."""
    op = _OPS.get(command)
    if op is None and isinstance(command, str):
        op = _OPS.get(command.upper())
    return op or ''


def pool_peer(pool: Any) -> str:
    """``host:port`` (or the socket path) a connection pool connects to; cached on the pool."""
    peer = getattr(pool, '_sw_peer', None)
    if peer is None:
        kwargs = getattr(pool, 'connection_kwargs', None) or {}
        path = kwargs.get('path')
        peer = str(path) if path else f'{kwargs.get("host", "localhost")}:{kwargs.get("port", 6379)}'
        try:
            pool._sw_peer = peer
        except Exception:
            pass
    return peer


#: command -> (operation name, ``cache.op``) of the commands seen so far, at most
#: `_COMMANDS_MAX` of them (an application sends a few dozen kinds): no name is built per call.
_commands: dict[Any, tuple[str, str]] = {}
_COMMANDS_MAX = 512


def _command(command: Any) -> tuple[str, str]:
    """(operation name, ``cache.op``) of a command name, remembered for the next calls."""
    named = (f'Redis/{command}', cache_op(command))
    if len(_commands) < _COMMANDS_MAX:
        _commands[command] = named
    return named


def _command_span(client: Any, args: tuple) -> Any:
    """The started exit span of one command (`_core.cache_exit_span`, arguments by position:
    this runs on every command)."""
    command = args[0] if args else ''
    op, cmd_op = _commands.get(command) or _command(command)
    pool = client.connection_pool
    return cache_exit_span(
        op,
        getattr(pool, '_sw_peer', None) or pool_peer(pool),
        _REDIS,
        command,
        args[1] if len(args) > 1 else None,
        cmd_op,
    )


def _pipeline_span(pipeline: Any) -> Any:
    stack = pipeline.command_stack
    names = []
    op = ''
    for args, _options in stack:
        name = args[0] if args else ''
        names.append(str(name))
        if op != 'write':
            op = cache_op(name) or op
    first = stack[0][0] if stack else ()
    # `is_transaction` in redis.asyncio, where `transaction` is the method of the same name
    transaction = getattr(pipeline, 'is_transaction', None)
    if transaction is None:
        transaction = getattr(pipeline, 'transaction', False)
    transaction = transaction is True or getattr(pipeline, 'explicit_transaction', False) is True
    return cache_exit_span(
        'Redis/MULTI' if transaction else 'Redis/PIPELINE',
        pool_peer(pipeline.connection_pool),
        _REDIS,
        ' '.join(names),
        first[1] if len(first) > 1 else None,
        op,
    )


def _wrap_execute_command(execute_command):
    # `_command_span` inlined (a frame less on every command), and the span entered and left
    # by direct calls, as `with` would: `with` binds `__enter__` and `__exit__` to the span
    # first, two method objects made and freed per command.
    def _sw_execute_command(this, *args, **options):
        command = args[0] if args else ''
        op, cmd_op = _commands.get(command) or _command(command)
        pool = this.connection_pool
        span = cache_exit_span(
            op,
            getattr(pool, '_sw_peer', None) or pool_peer(pool),
            _REDIS,
            command,
            args[1] if len(args) > 1 else None,
            cmd_op,
        )
        span.__enter__()
        try:
            result = execute_command(this, *args, **options)
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.__exit__(None, None, None)
        return result

    return _sw_execute_command


def _wrap_execute(execute):
    def _sw_execute(this, *args, **kwargs):
        if not this.command_stack:
            return execute(this, *args, **kwargs)  # nothing is sent
        with _pipeline_span(this):
            return execute(this, *args, **kwargs)

    return _sw_execute


def _wrap_async_execute_command(execute_command):
    async def _sw_execute_command(this, *args, **options):
        with _command_span(this, args):
            return await execute_command(this, *args, **options)

    return _sw_execute_command


def _wrap_async_execute(execute):
    async def _sw_execute(this, *args, **kwargs):
        if not this.command_stack:
            return await execute(this, *args, **kwargs)
        with _pipeline_span(this):
            return await execute(this, *args, **kwargs)

    return _sw_execute


def install() -> None:
    from redis.client import Pipeline, Redis

    patch(Redis, 'execute_command', _wrap_execute_command)
    patch(Pipeline, 'execute', _wrap_execute)
    try:
        from redis.asyncio.client import Pipeline as AsyncPipeline
        from redis.asyncio.client import Redis as AsyncRedis
    except ImportError:  # redis-py before 4.2
        return
    patch(AsyncRedis, 'execute_command', _wrap_async_execute_command)
    patch(AsyncPipeline, 'execute', _wrap_async_execute)
