"""Entry spans for Sanic 23+ through its lifecycle signals.

Sanic's touch-up recompiles `Sanic.handle_request` when the server starts, so the plugin
patches nothing on the request path: every new `Sanic` app gets four inline signal
handlers, which run in the request's own task. ``http.lifecycle.handle`` (before routing,
so a 404 is traced too; upstream starts later, in request middleware) opens the entry span;
``http.lifecycle.exception`` records a handler's exception with its traceback;
``http.lifecycle.response`` tags the status and closes the span. Requests on one keep-alive
connection share a task: a span left open by a request that never answered is closed by
the next request on that connection, or by ``http.lifecycle.complete`` when it closes, so
it never becomes the parent of another request's spans.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking.plugins._patch import patch
from skywalking.plugins._web import format_params, http_entry_span, record_exception

link_vector = ['https://sanic.readthedocs.io/en/latest']
component = Component.Sanic
support_matrix = {'sanic': {'>=3.10': ['23.12', '25.12']}}
note = (
    'Sanic 23.12+, through lifecycle signals (Sanic recompiles its handler at start). '
    "Sanic 20.12 (upstream's `sw_sanic`) is NOT SUPPORTED: upstream lists no version of it for Python 3.10+, "
    'and it is not ported.'
)
hooked_modules = ['sanic.app']
version_rule = {'name': 'sanic', 'rules': ['>=23.0']}

_SANIC = int(component)
_SCOPE = '_sw_scope'


def _params(request: Any) -> str | None:
    if config.plugin_sanic_collect_http_params and request.args:
        return format_params(request.args, config.plugin_http_http_params_length_threshold)
    return None


def _close_open_scope(holder: Any) -> None:
    scope = getattr(holder, _SCOPE, None)
    if scope is not None:
        setattr(holder, _SCOPE, None)
        scope.finish()


async def _sw_handle(request: Any) -> None:
    connection = request.conn_info.ctx if request.conn_info is not None else None
    if connection is not None:
        _close_open_scope(connection)
    path = request.path
    scope = http_entry_span(
        _SANIC,
        method=request.method,
        path=path,
        headers=request.headers,
        peer=f'{request.remote_addr or request.ip}:{request.port}',
        url=f'{request.scheme}://{request.host}{path}',
        params=_params(request),
    )
    scope.start()
    request.ctx._sw_scope = scope
    if connection is not None:
        connection._sw_scope = scope


async def _sw_exception(request: Any, exception: BaseException) -> None:
    if getattr(request.ctx, _SCOPE, None) is not None:
        record_exception(exception)


async def _sw_response(request: Any, response: Any) -> None:
    scope = getattr(request.ctx, _SCOPE, None)
    if scope is None:
        return
    request.ctx._sw_scope = None
    connection = request.conn_info.ctx if request.conn_info is not None else None
    if connection is not None and getattr(connection, _SCOPE, None) is scope:
        connection._sw_scope = None
    status = getattr(response, 'status', None)
    if status is not None:
        scope.span.tag_http_status(status)
    scope.finish()


async def _sw_complete(conn_info: Any) -> None:
    if conn_info is not None:
        _close_open_scope(conn_info.ctx)


def register(app: Any) -> None:
    """Adds the plugin's signal handlers to `app` (every app made after install)."""
    app.signal('http.lifecycle.handle')(_sw_handle)
    app.signal('http.lifecycle.exception')(_sw_exception)
    app.signal('http.lifecycle.response')(_sw_response)
    app.signal('http.lifecycle.complete')(_sw_complete)


def _wrap_init(init):
    def _sw_init(this, *args, **kwargs):
        init(this, *args, **kwargs)
        try:
            register(this)
        except Exception:
            from skywalking.plugins._common import failed

            failed('sw_sanic_v2 signal registration')

    return _sw_init


def install() -> None:
    from sanic.app import Sanic

    patch(Sanic, '__init__', _wrap_init)
