"""Entry spans for FastAPI and Starlette applications (HTTP and websocket scopes).

Upstream wraps Starlette's `ExceptionMiddleware`; this plugin wraps `Starlette.__call__`, the
application itself, so that the span also covers the application's middleware and
`ServerErrorMiddleware`: a handler for `Exception` (or 500) then runs inside the request's
span and sees its trace id (upstream's apache/skywalking#11618), and an exception that no
handler takes is recorded with its traceback and re-raised unchanged. A Starlette app
mounted in another one (or run under `skywalking.contrib.asgi`) does not open a second span:
the scope carries a marker once a span is open for it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from skywalking import Component, config
from skywalking.plugins._patch import patch
from skywalking.plugins._web import SCOPE_MARKER, format_params, traced_asgi_call

link_vector = ['https://fastapi.tiangolo.com', 'https://www.starlette.io']
component = Component.FastAPI
support_matrix = {
    'fastapi': {'>=3.10': ['0.88', '0.165']},
    'starlette': {'>=3.10': ['0.22', '1.10']},
}
note = 'Any Starlette application (FastAPI, plain Starlette, frameworks built on it).'
hooked_modules = ['starlette.applications']

_FASTAPI = int(component)


def query_params(scope: dict) -> str | None:
    """``http.params`` of an ASGI scope's query string, when FastAPI's collect option is on."""
    if not config.plugin_fastapi_collect_http_params:
        return None
    query = scope.get('query_string')
    if not query:
        return None
    grouped: dict[str, list[str]] = {}
    for key, value in parse_qsl(query.decode('latin-1'), keep_blank_values=True):
        grouped.setdefault(key, []).append(value)
    return format_params(grouped, config.plugin_http_http_params_length_threshold) or None


def _wrap_call(call):
    async def _sw_call(this, scope, receive, send):
        if scope['type'] not in ('http', 'websocket') or SCOPE_MARKER in scope:
            return await call(this, scope, receive, send)
        return await traced_asgi_call(call, this, scope, receive, send, _FASTAPI, params=query_params(scope))

    return _sw_call


def install() -> None:
    from starlette.applications import Starlette

    patch(Starlette, '__call__', _wrap_call)
