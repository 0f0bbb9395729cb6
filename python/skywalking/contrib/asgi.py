"""Entry spans for any ASGI application, in one line::

    from skywalking.contrib.asgi import SkyWalkingMiddleware

    app = SkyWalkingMiddleware(app)      # Quart: app.asgi_app = SkyWalkingMiddleware(app.asgi_app)

Each ``http`` and ``websocket`` request becomes an entry span named after the scope's path
(no query), with layer HTTP, peer the scope's client ``host:port`` (``unknown`` without one)
and the tags every HTTP entry span has: ``http.method`` (``websocket.accept`` for a
websocket), ``http.url`` (``<scheme>://<Host header><path>``), ``http.status_code`` (from
``http.response.start``, 500 when the application raised before answering; 200 once a
websocket is accepted or closed; 400 and above mark the span as an error). Trace headers
are read from the scope in one native pass, and ``plugin_http_ignore_method`` and the ignore
paths and suffixes apply, as for the framework plugins. An exception from the application
is recorded with its traceback and re-raised unchanged. ``lifespan`` and other scopes pass
through untouched. The span lasts until the application returns (for a websocket: the whole
connection).

The component defaults to General (7000); pass ``component=`` to report another id. A
Starlette or FastAPI application inside does not open a second span (the scope is marked).
Each request runs in its own task with its own context, so concurrent requests on one event
loop never share a segment.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._web import SCOPE_MARKER, traced_asgi_call

__all__ = ['SkyWalkingMiddleware']

_TRACED = ('http', 'websocket')


async def _invoke(app: Any, scope: dict, receive: Any, send: Any) -> Any:
    return await app(scope, receive, send)


class SkyWalkingMiddleware:
    """An ASGI application that traces each request to `app`."""

    __slots__ = ('app', 'component')

    def __init__(self, app: Any, component: int = Component.General):
        self.app = app
        self.component = int(component)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope.get('type') not in _TRACED or SCOPE_MARKER in scope:
            return await self.app(scope, receive, send)
        return await traced_asgi_call(_invoke, self.app, scope, receive, send, self.component)
