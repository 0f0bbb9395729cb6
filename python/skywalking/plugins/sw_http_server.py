"""Entry spans for `http.server` request handlers and the werkzeug development server.

Each request becomes an entry span named after its path (without the query), component
General, so a framework plugin running inside (Flask, Bottle, FastAPI pass
`inherit=Component.General`) takes the span over instead of nesting a second entry.
"""

from __future__ import annotations

import weakref

from skywalking import Component
from skywalking.plugins import _patch
from skywalking.plugins._web import http_entry_span

link_vector = ['https://docs.python.org/3/library/http.server.html', 'https://werkzeug.palletsprojects.com/']
component = Component.General
support_matrix = {
    'http_server': {'>=3.10': ['*']},
    'werkzeug': {'>=3.10': ['1.0.1', '2.0', '2.1', '2.2', '2.3', '3.0', '3.1']},
}
note = ''
hooked_modules = ['http.server']

_GENERAL = int(component)
_HTTP_METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH')

#: Handler classes whose request methods are wrapped (emptied when the plugin is uninstalled).
_instrumented: weakref.WeakSet = weakref.WeakSet()
_plugin = ''


def _traced(handler, method: str, call):
    """Runs `call()` (the handler's work for one request) inside an entry span."""
    headers = handler.headers
    path = handler.path or '/'
    handler._sw_status = -1
    client = handler.client_address
    host = headers.get('Host')
    scope = http_entry_span(
        _GENERAL,
        method=method,
        path=path.split('?', 1)[0],
        headers=headers,
        peer=f'{client[0]}:{client[1]}',
        url=f'http://{host}{path}' if host else path,
    )
    with scope as span:
        try:
            return call()
        finally:
            status = handler._sw_status
            if status > -1:
                span.tag_http_status(status)


def _wrap_do_method(method: str):
    def wrap(function):
        def _sw_do_method(self):
            return _traced(self, method, lambda: function(self))

        _sw_do_method.__name__ = f'do_{method}'
        return _sw_do_method

    return wrap


def _wrap_run_wsgi(run_wsgi):
    def _sw_run_wsgi(self):
        return _traced(self, self.command, lambda: run_wsgi(self))

    return _sw_run_wsgi


_WERKZEUG_HANDLER = 'werkzeug.serving.WSGIRequestHandler'


def _is_werkzeug(cls) -> bool:
    return any(f'{base.__module__}.{base.__qualname__}' == _WERKZEUG_HANDLER for base in cls.__mro__)


def _instrument_class(cls) -> None:
    """Wraps the request methods of a handler class once, the first time it serves."""
    if cls in _instrumented:
        return
    if _is_werkzeug(cls):
        _patch.patch(cls, 'run_wsgi', _wrap_run_wsgi, plugin=_plugin)
        # werkzeug before 2.1 writes the status line in its own `send_response`, which does
        # not call `send_response_only`: the status is recorded there too.
        from http.server import BaseHTTPRequestHandler

        if getattr(cls, 'send_response', None) is not BaseHTTPRequestHandler.send_response:
            _patch.patch(cls, 'send_response', _wrap_send_response_only, plugin=_plugin)
    else:
        for method in _HTTP_METHODS:
            if callable(getattr(cls, f'do_{method}', None)):
                _patch.patch(cls, f'do_{method}', _wrap_do_method(method), plugin=_plugin)
    _instrumented.add(cls)


def _wrap_handle(handle):
    def _sw_handle(self):
        try:
            _instrument_class(type(self))
        except Exception:  # a handler class we cannot wrap is served untraced
            pass
        return handle(self)

    return _sw_handle


def _wrap_send_response_only(send_response):
    """Records the status of the response (`send_response_only`, or a server's own
    `send_response`) for the entry span."""

    def _sw_send_response(self, code, *args, **kwargs):
        try:
            self._sw_status = int(code)
        except (TypeError, ValueError):
            pass
        return send_response(self, code, *args, **kwargs)

    return _sw_send_response


def install() -> None:
    global _plugin
    from http.server import BaseHTTPRequestHandler

    _plugin = _patch.current_plugin()
    _patch.patch(BaseHTTPRequestHandler, 'handle', _wrap_handle, on_restore=_instrumented.clear)
    _patch.patch(BaseHTTPRequestHandler, 'send_response_only', _wrap_send_response_only)
