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
from skywalking.plugins._web import SCOPE_MARKER, asgi_entry_span, format_params

link_vector = ['https://fastapi.tiangolo.com', 'https://www.starlette.io']
component = Component.FastAPI
support_matrix = {
    'fastapi': {'>=3.10': ['0.88', '0.165']},
    'starlette': {'>=3.10': ['0.22', '1.10']},
}
note = 'Any Starlette application (FastAPI, plain Starlette, frameworks built on it).'
hooked_modules = ['starlette.applications']

_FASTAPI = int(component)
_GENERAL = int(Component.General)  # a server plugin's span, taken over
_TRACED = ('http', 'websocket')


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
    # `_web.traced_asgi_call` inlined: one native call opens the span (scope, headers, peer,
    # URL read natively) and makes the `send` that notes the status, one closes it.
    async def _sw_call(this, scope, receive, send):
        if scope['type'] not in _TRACED or SCOPE_MARKER in scope:
            return await call(this, scope, receive, send)
        scope[SCOPE_MARKER] = True
        params = query_params(scope) if config.plugin_fastapi_collect_http_params else None
        # By position: scope, component, method, op, inherit, url, peer, params, send.
        entry = asgi_entry_span(
            scope, _FASTAPI, None, None, _GENERAL, None, None if scope.get('client') else 'unknown', params, send
        )
        with entry:
            return await call(this, scope, receive, entry.send)

    return _sw_call


def install() -> None:
    from starlette.applications import Starlette

    patch(Starlette, '__call__', _wrap_call)
