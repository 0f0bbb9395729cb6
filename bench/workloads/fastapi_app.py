"""The FastAPI application of W5: one endpoint, called in-process as an ASGI server calls it."""

from __future__ import annotations

import asyncio


def make_app():
    # Imported here, after the contender started (plugins install on import).
    from fastapi import FastAPI

    app = FastAPI()

    @app.get('/hello')
    async def hello():
        return 'hello'

    return app


def iteration_for(app):
    """One GET /hello through the ASGI app on one event loop, checked so a broken set-up
    cannot pass as fast."""
    loop = asyncio.new_event_loop()
    base = {
        'type': 'http',
        'asgi': {'version': '3.0'},
        'http_version': '1.1',
        'method': 'GET',
        'scheme': 'http',
        'path': '/hello',
        'raw_path': b'/hello',
        'root_path': '',
        'query_string': b'',
        'headers': [(b'host', b'127.0.0.1:8000'), (b'user-agent', b'bench')],
        'client': ('127.0.0.1', 50000),
        'server': ('127.0.0.1', 8000),
    }
    request = {'type': 'http.request', 'body': b'', 'more_body': False}
    answer = {}

    async def receive():
        return request

    async def send(message):
        if message['type'] == 'http.response.start':
            answer['status'] = message['status']

    def iteration(_i: int) -> None:
        answer.clear()
        loop.run_until_complete(app(dict(base), receive, send))
        if answer.get('status') != 200:
            raise RuntimeError(f'/hello answered {answer}')

    return iteration
