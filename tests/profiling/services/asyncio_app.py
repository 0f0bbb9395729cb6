"""An asyncio HTTP server instrumented through the public API: each request is an entry
span in its own task; /slow awaits in a distinctive coroutine while /fast requests run on
the same loop."""

import asyncio
import os

from skywalking import Component, Layer
from skywalking.trace.context import get_context


async def distinctive_coroutine_wait(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request_line = (await reader.readline()).decode()
    while (await reader.readline()) not in (b'\r\n', b''):
        pass
    path = request_line.split(' ')[1] if ' ' in request_line else '/'
    with get_context().new_entry_span(path) as span:
        span.layer = Layer.Http
        span.component = Component.General
        if path == '/slow':
            await distinctive_coroutine_wait(1.5)
        body = b'ok'
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n' + body)
    await writer.drain()
    writer.close()


async def main() -> None:
    server = await asyncio.start_server(handle, '127.0.0.1', int(os.environ['PORT']))
    async with server:
        await server.serve_forever()


asyncio.run(main())
