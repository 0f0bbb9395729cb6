"""Consumer: an `http.server` whose GET /<method> calls test.Greeter/<method> on the
provider (MODE=sync: grpc.insecure_channel, MODE=aio: grpc.aio.insecure_channel) and
answers with the result, or the status code of the RpcError it got."""

import asyncio
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

TARGET = f'127.0.0.1:{os.environ["PROVIDER_PORT"]}'
MODE = os.environ['MODE']


def call_sync(method):
    with grpc.insecure_channel(TARGET) as channel:
        if method in ('HelloFuture', 'FailFuture'):  # the future() call style
            path = f'/test.Greeter/{method.removesuffix("Future")}'
            return channel.unary_unary(path).future(b'you', timeout=5).result()
        if method == 'HelloWithCall':
            response, call = channel.unary_unary('/test.Greeter/Hello').with_call(b'you', timeout=5)
            assert call.code() == grpc.StatusCode.OK
            return response
        if method == 'JoinFuture':
            return channel.stream_unary('/test.Greeter/Join').future(iter([b'a', b'b', b'c']), timeout=5).result()
        path = f'/test.Greeter/{method}'
        if method in ('Hello', 'Fail'):
            return channel.unary_unary(path)(b'you', timeout=5)
        if method == 'Split':
            return b'|'.join(channel.unary_stream(path)(b'abc', timeout=5))
        if method == 'Join':
            return channel.stream_unary(path)(iter([b'a', b'b', b'c']), timeout=5)
        return b'|'.join(channel.stream_stream(path)(iter([b'a', b'b']), timeout=5))


async def call_aio(method):
    async with grpc.aio.insecure_channel(TARGET) as channel:
        if method == 'JoinWrite':  # requests written on the call, then done_writing()
            call = channel.stream_unary('/test.Greeter/Join')(timeout=5)
            for item in (b'a', b'b', b'c'):
                await call.write(item)
            await call.done_writing()
            return await call
        if method == 'EchoWrite':  # written and read on the call
            call = channel.stream_stream('/test.Greeter/Echo')(timeout=5)
            answers = []
            for item in (b'a', b'b'):
                await call.write(item)
                answers.append(await call.read())
            await call.done_writing()
            # Not read to EOF: on grpcio 1.60 a read past the last answer of an intercepted
            # call (any client interceptor, this agent's as upstream's) raises
            # StopAsyncIteration instead of returning grpc.aio.EOF; 1.85 returns EOF.
            assert await call.code() == grpc.StatusCode.OK
            return b'|'.join(answers)
        if method == 'SplitWrite':  # the server answers through context.write()
            return b'|'.join([r async for r in channel.unary_stream('/test.Greeter/SplitWrite')(b'abc', timeout=5)])
        path = f'/test.Greeter/{method}'
        if method in ('Hello', 'Fail'):
            return await channel.unary_unary(path)(b'you', timeout=5)
        if method == 'Split':
            return b'|'.join([r async for r in channel.unary_stream(path)(b'abc', timeout=5)])
        if method == 'Join':
            return await channel.stream_unary(path)(iter([b'a', b'b', b'c']), timeout=5)
        return b'|'.join([r async for r in channel.stream_stream(path)(iter([b'a', b'b']), timeout=5)])


def call_collector():
    """A call on a channel to the agent's own backend address (not a Greeter: it fails)."""
    backend = os.environ['SW_AGENT_COLLECTOR_BACKEND_SERVICES']
    if MODE == 'sync':
        with grpc.insecure_channel(backend) as channel:
            return channel.unary_unary('/test.Greeter/Hello')(b'you', timeout=5)

    async def aio():
        async with grpc.aio.insecure_channel(backend) as channel:
            return await channel.unary_unary('/test.Greeter/Hello')(b'you', timeout=5)

    return asyncio.run(aio())


def call(method):
    if method == 'Collector':
        return call_collector()
    if MODE == 'sync':
        return call_sync(method)
    return asyncio.run(call_aio(method))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            body = call(self.path.strip('/'))
        except grpc.RpcError as error:
            body = str(error.code()).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
