"""The Django application of W4: one view, called in-process through Django's WSGI handler."""

from __future__ import annotations

import io
import sys


def configure() -> None:
    """Settings first: OpenTelemetry's Django instrumentation edits ``MIDDLEWARE`` when it
    starts, so the contender starts between this and `make_app`."""
    from django.conf import settings

    settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=['*'], MIDDLEWARE=[], LOGGING_CONFIG=None)


def hello(request):
    from django.http import HttpResponse

    return HttpResponse('hello')


async def hello_async(request):
    from django.http import HttpResponse

    return HttpResponse('hello')


def _urlpatterns():
    from django.urls import path

    # The async view serves the ASGI handler without a thread hop (a sync view there runs
    # in a worker thread), so that one thread does the whole request.
    return [path('hello', hello), path('hello-async', hello_async)]


def __getattr__(name: str):
    if name == 'urlpatterns':  # Django's URL resolver reads it from ROOT_URLCONF, i.e. here
        return _urlpatterns()
    raise AttributeError(name)


def make_app():
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    return get_wsgi_application()


def make_asgi_app():
    import django
    from django.core.asgi import get_asgi_application

    django.setup()
    return get_asgi_application()


def asgi_iteration_for(app):
    """One GET /hello-async through Django's ASGI handler on one event loop, as an ASGI
    server calls it: the first `receive` gives the request, the next one (Django listens for
    a disconnect) waits until Django cancels it."""
    import asyncio

    loop = asyncio.new_event_loop()
    base = {
        'type': 'http',
        'asgi': {'version': '3.0'},
        'http_version': '1.1',
        'method': 'GET',
        'scheme': 'http',
        'path': '/hello-async',
        'raw_path': b'/hello-async',
        'root_path': '',
        'query_string': b'',
        'headers': [(b'host', b'127.0.0.1:8000'), (b'user-agent', b'bench')],
        'client': ('127.0.0.1', 50000),
        'server': ('127.0.0.1', 8000),
    }
    request = {'type': 'http.request', 'body': b'', 'more_body': False}
    answer = {}

    def iteration(_i: int) -> None:
        answer.clear()
        received = []

        async def receive():
            if not received:
                received.append(True)
                return request
            await asyncio.Event().wait()

        async def send(message):
            if message['type'] == 'http.response.start':
                answer['status'] = message['status']

        loop.run_until_complete(app(dict(base), receive, send))
        if answer.get('status') != 200:
            raise RuntimeError(f'/hello-async answered {answer}')

    return iteration


def _start_response(status, headers, exc_info=None):
    _start_response.status = status


def iteration_for(app):
    """One GET /hello through the WSGI handler (what a WSGI server does), checked so a broken
    set-up cannot pass as fast."""
    base = {
        'REQUEST_METHOD': 'GET',
        'PATH_INFO': '/hello',
        'SCRIPT_NAME': '',
        'QUERY_STRING': '',
        'SERVER_NAME': '127.0.0.1',
        'SERVER_PORT': '8000',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'HTTP_HOST': '127.0.0.1:8000',
        'REMOTE_ADDR': '127.0.0.1',
        'REMOTE_PORT': '50000',
        'wsgi.url_scheme': 'http',
        'wsgi.errors': sys.stderr,
        'wsgi.multithread': True,
        'wsgi.multiprocess': False,
        'wsgi.run_once': False,
        'wsgi.version': (1, 0),
    }

    def iteration(_i: int) -> None:
        environ = dict(base)
        environ['wsgi.input'] = io.BytesIO(b'')
        body = app(environ, _start_response)
        try:
            content = b''.join(body)
        finally:
            body.close()
        if _start_response.status != '200 OK' or content != b'hello':
            raise RuntimeError(f'/hello answered {_start_response.status}')

    return iteration
