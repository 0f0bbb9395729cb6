"""Entry spans for Sanic 23+: a wrapper of `Sanic.handle_request`, kept through Sanic's touch-up.

At server start Sanic's touch-up recompiles `Sanic.handle_request` from its source, without
the signal dispatches no handler listens to. A wrapper in its place would be recompiled
instead of the library's code, so `TouchUp.run` is wrapped too: it touches up the library's
own method, which the plugin's wrapper then calls. The span covers the whole request, from
before routing (so a 404 is traced too; upstream starts later, in request middleware) to the
response, whose status is read from the request's stream.

Upstream, and this plugin before, used lifecycle signals or middleware for the request and
its response. Each signal with a handler keeps one dispatch in the touched-up handler, about
60,000 instructions a request each (bench/plugin_cost.py): two of them made the plugin cost
0.75x of apache-skywalking's own. Only the exception signal stays, which is dispatched when a
handler raises: it records the exception with its traceback on the entry span.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking.plugins._patch import is_ours, patch
from skywalking.plugins._web import format_params, http_entry_span, record_exception

link_vector = ['https://sanic.readthedocs.io/en/latest']
component = Component.Sanic
support_matrix = {'sanic': {'>=3.10': ['23.12', '25.12']}}
note = (
    "Sanic 23.12+, by wrapping `Sanic.handle_request` (kept through Sanic's touch-up at start). "
    "Sanic 20.12 (upstream's `sw_sanic`) is NOT SUPPORTED: upstream lists no version of it for Python 3.10+, "
    'and it is not ported.'
)
hooked_modules = ['sanic.app']
version_rule = {'name': 'sanic', 'rules': ['>=23.0']}

_SANIC = int(component)

#: The library's `Sanic.handle_request`, touched up once the server started: what the
#: wrapper calls.
_library_handle_request: Any = None


def _params(request: Any) -> str | None:
    if config.plugin_sanic_collect_http_params and request.args:
        return format_params(request.args, config.plugin_http_http_params_length_threshold)
    return None


def _status(request: Any) -> int | None:
    """The status of the response sent for `request` (its stream's, HTTP/1 or ASGI)."""
    response = getattr(request.stream, 'response', None)
    return getattr(response, 'status', None)


def _wrap_handle_request(handle_request):
    global _library_handle_request
    _library_handle_request = handle_request

    async def _sw_handle_request(this, request, *args, **kwargs):
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
        with scope as span:
            result = await _library_handle_request(this, request, *args, **kwargs)
            status = _status(request)
            if status is not None:
                span.tag_http_status(status)
            return result

    return _sw_handle_request


def _wrap_touchup_run(run):
    def _sw_run(cls, app, *args, **kwargs):
        from sanic.app import Sanic

        traced = Sanic.__dict__.get('handle_request')
        if not is_ours(traced) or _library_handle_request is None:
            return run(cls, app, *args, **kwargs)
        # Touched up: the library's own code, not the wrapper (recompiled from its source).
        Sanic.handle_request = _library_handle_request
        try:
            return run(cls, app, *args, **kwargs)
        finally:
            _adopt(Sanic, traced)

    return _sw_run


def _adopt(sanic: Any, traced: Any) -> None:
    """Puts the wrapper back in place of what the touch-up made, and calls that."""
    global _library_handle_request
    touched = sanic.__dict__.get('handle_request')
    if touched is not None and touched is not traced:
        _library_handle_request = touched
    sanic.handle_request = traced


async def _sw_exception(request: Any, exception: BaseException) -> None:
    record_exception(exception)


def register(app: Any) -> None:
    """Adds the plugin's exception signal handler to `app` (every app made after install)."""
    app.signal('http.lifecycle.exception')(_sw_exception)


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
    from sanic.touchup.service import TouchUp

    patch(Sanic, '__init__', _wrap_init)
    patch(Sanic, 'handle_request', _wrap_handle_request)
    patch(TouchUp, 'run', _wrap_touchup_run)
