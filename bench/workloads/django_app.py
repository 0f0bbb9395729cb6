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


def _urlpatterns():
    from django.urls import path

    return [path('hello', hello)]


def __getattr__(name: str):
    if name == 'urlpatterns':  # Django's URL resolver reads it from ROOT_URLCONF, i.e. here
        return _urlpatterns()
    raise AttributeError(name)


def make_app():
    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    return get_wsgi_application()


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
