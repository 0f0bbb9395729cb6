"""Entry spans for any WSGI application, in one line::

    from skywalking.contrib.wsgi import SkyWalkingMiddleware

    application = SkyWalkingMiddleware(application)

Each request becomes an entry span named after its path (``PATH_INFO``, no query), with
layer HTTP, peer ``REMOTE_ADDR:REMOTE_PORT`` and the tags every HTTP entry span has:
``http.method``, ``http.url`` (no query), ``http.status_code`` (from ``start_response``;
400 and above mark the span as an error). Trace headers are read, and
``plugin_http_ignore_method`` and the ignore paths and suffixes apply, as for the framework
plugins. An exception from the application is recorded with its traceback and re-raised
unchanged (with status 500 when the application had not started a response).

The span covers the call of the application, until it returns its response iterable; a
body produced lazily while the server iterates it is outside the span.

The component defaults to General (7000). A framework plugin running inside (Flask,
Django, Bottle, ...) takes the middleware's span over, so a request still gives one span,
named and tagged by the framework; so does the middleware with a server plugin's span
(werkzeug's development server). Pass ``component=`` to report another id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from skywalking import Component
from skywalking.plugins._web import wsgi_entry_span

__all__ = ['SkyWalkingMiddleware']

_GENERAL = int(Component.General)


class SkyWalkingMiddleware:
    """A WSGI application that traces each request to `app`."""

    __slots__ = ('app', 'component')

    def __init__(self, app: Callable, component: int = Component.General):
        self.app = app
        self.component = int(component)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        status = [0]

        def _sw_start_response(status_line: str, headers: list, exc_info: Any = None) -> Any:
            try:
                status[0] = int(status_line[:3])
            except (TypeError, ValueError):
                pass
            if exc_info is None:
                return start_response(status_line, headers)
            return start_response(status_line, headers, exc_info)

        with wsgi_entry_span(environ, self.component, inherit=_GENERAL) as span:
            try:
                return self.app(environ, _sw_start_response)
            except Exception:
                if not status[0]:
                    status[0] = 500
                raise
            finally:
                if status[0]:
                    span.tag_http_status(status[0])
