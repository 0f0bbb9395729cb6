"""A bare ASGI app for uvicorn workers, traced through the public API (no ASGI plugin yet)."""

import asyncio
import os

from skywalking import Component, Layer
from skywalking.trace.context import get_context


async def app(scope, receive, send):
    if scope['type'] != 'http':
        return
    with get_context().new_entry_span(scope['path']) as span:
        span.layer = Layer.Http
        span.component = Component.General
        await asyncio.sleep(0.3)
        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})
        await send({'type': 'http.response.body', 'body': str(os.getpid()).encode()})
