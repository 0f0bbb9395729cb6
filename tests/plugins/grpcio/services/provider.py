"""Provider: a gRPC server (MODE=sync: grpc.server, MODE=aio: grpc.aio.server) with service
test.Greeter written by hand (bytes in and out): Hello (unary), Fail (unary, aborts with
NOT_FOUND), Split (unary -> stream), Join (stream -> unary), Echo (stream -> stream), and
under grpc.aio SplitWrite (Split answered through ``context.write()``)."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import grpc

PORT = int(os.environ['PORT'])
MODE = os.environ['MODE']


def hello(request, context):
    return b'hello ' + request


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, 'no such thing')


def split(request, context):
    yield from (bytes([b]) for b in request)


def join(requests, context):
    return b''.join(requests)


def echo(requests, context):
    yield from requests


async def hello_aio(request, context):
    return b'hello ' + request


async def fail_aio(request, context):
    await context.abort(grpc.StatusCode.NOT_FOUND, 'no such thing')


async def split_aio(request, context):
    for b in request:
        yield bytes([b])


async def split_write_aio(request, context):
    """Answers through ``context.write()`` instead of yielding (a coroutine, not a generator)."""
    for b in request:
        await context.write(bytes([b]))


async def join_aio(requests, context):
    return b''.join([r async for r in requests])


async def echo_aio(requests, context):
    async for r in requests:
        yield r


def handlers(aio: bool):
    pick = (lambda sync, asynchronous: asynchronous) if aio else (lambda sync, asynchronous: sync)
    methods = {
        'Hello': grpc.unary_unary_rpc_method_handler(pick(hello, hello_aio)),
        'Fail': grpc.unary_unary_rpc_method_handler(pick(fail, fail_aio)),
        'Split': grpc.unary_stream_rpc_method_handler(pick(split, split_aio)),
        'Join': grpc.stream_unary_rpc_method_handler(pick(join, join_aio)),
        'Echo': grpc.stream_stream_rpc_method_handler(pick(echo, echo_aio)),
    }
    if aio:
        methods['SplitWrite'] = grpc.unary_stream_rpc_method_handler(split_write_aio)
    return (grpc.method_handlers_generic_handler('test.Greeter', methods),)


if MODE == 'sync':
    server = grpc.server(ThreadPoolExecutor(4), handlers=handlers(False))
    server.add_insecure_port(f'127.0.0.1:{PORT}')
    server.start()
    server.wait_for_termination()
else:

    async def serve():
        server = grpc.aio.server(handlers=handlers(True))
        server.add_insecure_port(f'127.0.0.1:{PORT}')
        await server.start()
        await server.wait_for_termination()

    asyncio.run(serve())
