"""Entry spans for `http.server` request handlers and the werkzeug development server.

Each request becomes an entry span named after its path (without the query), component
General, so a framework plugin running inside (Flask, Bottle, FastAPI pass
`inherit=Component.General`) takes the span over instead of nesting a second entry.
"""

from __future__ import annotations

from skywalking import Component, Layer
from skywalking.trace.context import get_context
from skywalking.trace.tags import TagHttpMethod, TagHttpURL

link_vector = ['https://docs.python.org/3/library/http.server.html', 'https://werkzeug.palletsprojects.com/']
support_matrix = {'http_server': {'>=3.10': ['*']}, 'werkzeug': {'>=3.10': ['2.3', '3.0', '3.1']}}
note = ''
hooked_modules = ['http.server']

_HTTP_METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH')


def _traced(handler, method: str, call):
    """Runs `call()` (the handler's work for one request) inside an entry span."""
    headers = handler.headers
    path = handler.path or '/'
    handler._sw_status = -1
    span = get_context().new_entry_span(
        path.split('?', 1)[0], sw8=headers.get('sw8'), correlation=headers.get('sw8-correlation'), method=method
    )
    with span:
        span.layer = Layer.Http
        span.component = Component.General
        client = handler.client_address
        span.peer = f'{client[0]}:{client[1]}'
        host = headers.get('Host')
        span.set_tag(TagHttpMethod.key, method)
        span.set_tag(TagHttpURL.key, f'http://{host}{path}' if host else path)
        try:
            return call()
        finally:
            status = handler._sw_status
            if status > -1:
                span.tag_http_status(status)


def _wrap_do_method(function, method: str):
    def _sw_do_method(self):
        return _traced(self, method, lambda: function(self))

    _sw_do_method._sw_wrapped = True
    _sw_do_method.__name__ = f'do_{method}'
    _sw_do_method.__wrapped__ = function
    return _sw_do_method


def _wrap_run_wsgi(run_wsgi):
    def _sw_run_wsgi(self):
        return _traced(self, self.command, lambda: run_wsgi(self))

    _sw_run_wsgi._sw_wrapped = True
    _sw_run_wsgi.__wrapped__ = run_wsgi
    return _sw_run_wsgi


def _instrument_class(cls) -> None:
    """Wraps the request methods of a handler class once, the first time it serves."""
    if cls.__dict__.get('_sw_instrumented'):
        return
    is_werkzeug = f'{cls.__module__}.{cls.__qualname__}' == 'werkzeug.serving.WSGIRequestHandler' or any(
        f'{base.__module__}.{base.__qualname__}' == 'werkzeug.serving.WSGIRequestHandler' for base in cls.__mro__
    )
    if is_werkzeug:
        run_wsgi = cls.run_wsgi
        if not getattr(run_wsgi, '_sw_wrapped', False):
            cls.run_wsgi = _wrap_run_wsgi(run_wsgi)
    else:
        for method in _HTTP_METHODS:
            function = getattr(cls, f'do_{method}', None)
            if callable(function) and not getattr(function, '_sw_wrapped', False):
                setattr(cls, f'do_{method}', _wrap_do_method(function, method))
    cls._sw_instrumented = True


def install() -> None:
    from http.server import BaseHTTPRequestHandler

    if getattr(BaseHTTPRequestHandler, '_sw_patched', False):
        return
    _handle = BaseHTTPRequestHandler.handle
    _send_response_only = BaseHTTPRequestHandler.send_response_only

    def _sw_handle(self):
        try:
            _instrument_class(type(self))
        except Exception:  # a handler class we cannot wrap is served untraced
            pass
        return _handle(self)

    def _sw_send_response_only(self, code, *args, **kwargs):
        self._sw_status = int(code)
        return _send_response_only(self, code, *args, **kwargs)

    BaseHTTPRequestHandler.handle = _sw_handle
    BaseHTTPRequestHandler.send_response_only = _sw_send_response_only
    BaseHTTPRequestHandler._sw_patched = True
