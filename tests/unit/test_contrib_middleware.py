"""The WSGI and ASGI middlewares in-process: what the application returns, raises and sees
passes through unchanged (the spans themselves are checked end to end in tests/contrib)."""

from __future__ import annotations

import asyncio

import pytest

from skywalking.contrib.asgi import SkyWalkingMiddleware as AsgiMiddleware
from skywalking.contrib.wsgi import SkyWalkingMiddleware as WsgiMiddleware
from skywalking.plugins._web import SCOPE_MARKER

ENVIRON = {
    'REQUEST_METHOD': 'GET',
    'PATH_INFO': '/hello',
    'SERVER_NAME': '127.0.0.1',
    'SERVER_PORT': '80',
    'HTTP_HOST': '127.0.0.1',
    'wsgi.url_scheme': 'http',
}


def test_wsgi_returns_the_apps_iterable_and_start_response_result():
    body = [b'hello']
    calls = []

    def app(environ, start_response):
        calls.append(start_response('200 OK', [('X-A', 'b')]))
        return body

    def start_response(status, headers, exc_info=None):
        return ('write', status, headers, exc_info)

    assert WsgiMiddleware(app)(dict(ENVIRON), start_response) is body
    assert calls == [('write', '200 OK', [('X-A', 'b')], None)]


def test_wsgi_reraises_the_apps_exception_itself():
    error = ValueError('boom')

    def app(environ, start_response):
        raise error

    with pytest.raises(ValueError) as raised:
        WsgiMiddleware(app)(dict(ENVIRON), lambda *args: None)
    assert raised.value is error


def run(app, scope, messages=()):
    sent = []
    incoming = list(messages)

    async def receive():
        return incoming.pop(0) if incoming else {'type': 'http.disconnect'}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope(path='/hello'):
    return {
        'type': 'http',
        'method': 'GET',
        'path': path,
        'scheme': 'http',
        'headers': [(b'host', b'127.0.0.1')],
        'client': ('127.0.0.1', 5000),
        'query_string': b'',
    }


def test_asgi_passes_messages_and_marks_the_scope():
    seen = []

    async def app(scope, receive, send):
        seen.append(dict(scope))
        await send({'type': 'http.response.start', 'status': 204, 'headers': []})
        await send({'type': 'http.response.body', 'body': b''})

    sent = run(AsgiMiddleware(app), http_scope())

    assert [message['type'] for message in sent] == ['http.response.start', 'http.response.body']
    assert sent[0]['status'] == 204
    assert seen[0][SCOPE_MARKER] is True


def test_asgi_lifespan_and_marked_scopes_pass_through_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope)

    lifespan = {'type': 'lifespan'}
    marked = {**http_scope(), SCOPE_MARKER: True}
    run(AsgiMiddleware(app), lifespan)
    run(AsgiMiddleware(app), marked)
    assert seen[0] is lifespan and lifespan == {'type': 'lifespan'}
    assert seen[1] is marked


def test_asgi_reraises_the_apps_exception_itself():
    error = RuntimeError('boom')

    async def app(scope, receive, send):
        raise error

    with pytest.raises(RuntimeError) as raised:
        run(AsgiMiddleware(app), http_scope())
    assert raised.value is error
