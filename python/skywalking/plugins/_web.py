"""Entry spans for incoming HTTP requests: from a WSGI environ, an ASGI scope, or a request
described field by field.

Each helper opens the entry span (trace headers extracted, `plugin_http_ignore_method` and
the ignore rules applied) and returns an `EntryScope`::

    with wsgi_entry_span(environ, COMPONENT, op=request.path, inherit=GENERAL) as span:
        response = handle()
        span.tag_http_status(response.status_code)

On entering, the scope starts the span and then records component, layer HTTP, peer,
``http.method``, ``http.url`` and, when given, ``http.params`` (an entry span clears these
when it starts, so that a framework can take over a server plugin's span). Leaving it by an
exception records the error. A request the agent does not trace gets a `NoopSpan`, which
behaves the same and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from skywalking._core import get_context, trace_headers
from skywalking._core import wsgi_entry_span as _native_wsgi_entry_span
from skywalking.plugins._common import EntryScope, Getter, NoopScope, failed, read_trace_headers

HTTP_METHOD = 'http.method'
HTTP_URL = 'http.url'
HTTP_PARAMS = 'http.params'


def format_params(params: Any, threshold: int) -> str:
    """``key=[v1,v2]`` lines of a multi-dict (``getlist``) or a dict of lists, cut to
    `threshold` characters, as upstream's framework plugins record ``http.params``."""
    getlist = getattr(params, 'getlist', None)
    if getlist is not None:
        # Keys in the order `items()` gives them (query arguments, then form fields): werkzeug
        # before 2.3 returns the keys of a CombinedMultiDict (`request.values`) as a set.
        lines = [f'{key}=[{",".join(getlist(key))}]' for key, _ in params.items()]
    else:
        lines = [
            f'{key}=[{",".join(values) if isinstance(values, (list, tuple)) else values}]'
            for key, values in params.items()
        ]
    return '\n'.join(lines)[0:threshold]


# --- WSGI ---------------------------------------------------------------------------------


def wsgi_request_url(environ: dict) -> str:
    """The request's URL without its query, rebuilt from the environ as PEP 3333 describes;
    what `wsgi_entry_span` records when the native fast path cannot be sure of the text."""
    scheme = environ.get('wsgi.url_scheme') or 'http'
    host = environ.get('HTTP_HOST')
    if not host:
        host = environ.get('SERVER_NAME') or ''
        port = str(environ.get('SERVER_PORT') or '')
        if port and (scheme, port) not in (('http', '80'), ('https', '443')):
            host = f'{host}:{port}'
    path = quote(environ.get('SCRIPT_NAME') or '') + quote(environ.get('PATH_INFO') or '')
    return f'{scheme}://{host}{path or "/"}'


class _WsgiScope(EntryScope):
    __slots__ = ('environ', 'method', 'params', 'url')

    def start(self) -> Any:
        span = self.span
        try:
            # Starts the span, then component, layer, peer, http.method and http.url natively.
            if not span.start_wsgi(self.environ, self.method, self.component):
                span.set_tag(HTTP_URL, self.url(self.environ))
            if self.params:
                span.set_tag(HTTP_PARAMS, self.params)
        except Exception:
            failed('Starting a WSGI entry span')
        return span

    __enter__ = start


def wsgi_entry_span(
    environ: dict,
    component: int,
    *,
    method: str | None = None,
    op: str | None = None,
    inherit: int | None = None,
    url: Callable[[dict], str] = wsgi_request_url,
    params: str | None = None,
) -> EntryScope:
    """The entry span of a WSGI request.

    `op` defaults to ``PATH_INFO``; `method` to ``REQUEST_METHOD``; `inherit` (usually
    ``Component.General``) takes over a running entry span of that component (the server
    plugin's) instead of nesting a second one. `url(environ)` is asked for ``http.url`` only
    when the environ alone cannot say it with certainty (frameworks pass their own request
    URL there). `params` is the ``http.params`` text, when the framework collects it.
    The peer is ``REMOTE_ADDR:REMOTE_PORT``.
    """
    try:
        if method is None:
            method = environ.get('REQUEST_METHOD') or 'GET'
        if op is None:
            op = environ.get('PATH_INFO') or '/'
        span = _native_wsgi_entry_span(op, environ, method, inherit)
        scope = _WsgiScope(span, component, None, ())
        scope.environ = environ
        scope.method = method
        scope.url = url
        scope.params = params
        return scope
    except Exception:
        failed('wsgi_entry_span')
        return NoopScope()


# --- ASGI ---------------------------------------------------------------------------------


def asgi_entry_span(
    scope: dict,
    component: int,
    *,
    method: str | None = None,
    op: str | None = None,
    inherit: int | None = None,
    url: str | None = None,
    peer: str | None = None,
    params: str | None = None,
) -> EntryScope:
    """The entry span of an ASGI ``http`` or ``websocket`` scope.

    Reads ``sw8``, ``sw8-correlation`` and ``host`` from the scope's header pairs in one
    native pass (no dict per request). Defaults: `op` the scope's ``path``; `method` its
    ``method`` (a websocket scope has none: pass what the framework records, e.g.
    ``'websocket.accept'``); `url` ``<scheme>://<host><path>`` with the Host header, else the
    scope's ``server``; `peer` the scope's ``client`` as ``host:port`` (left empty without one).
    """
    try:
        path = scope.get('path') or '/'
        sw8, correlation, host = trace_headers(scope.get('headers') or ())
        if method is None:
            method = scope.get('method') or ''
        span = get_context().new_entry_span(
            path if op is None else op, None, inherit, sw8=sw8, correlation=correlation, method=method or None
        )
        if url is None:
            scheme = scope.get('scheme') or ('ws' if scope.get('type') == 'websocket' else 'http')
            if not host:
                server = scope.get('server')
                host = f'{server[0]}:{server[1]}' if server and server[1] is not None else (server or ('',))[0]
            url = f'{scheme}://{host}{path}'
        if peer is None:
            client = scope.get('client')
            if client:
                peer = f'{client[0]}:{client[1]}'
        tags: tuple = ((HTTP_METHOD, method), (HTTP_URL, url))
        if params:
            tags += ((HTTP_PARAMS, params),)
        return EntryScope(span, component, peer, tags)
    except Exception:
        failed('asgi_entry_span')
        return NoopScope()


# --- any other request --------------------------------------------------------------------


def http_entry_span(
    component: int,
    *,
    method: str,
    path: str,
    headers: Any = None,
    getter: Getter | None = None,
    peer: str | None = None,
    url: str | None = None,
    op: str | None = None,
    inherit: int | None = None,
    params: str | None = None,
) -> EntryScope:
    """The entry span of a request a framework describes field by field (Tornado, aiohttp,
    Sanic, ...). `headers` is a mapping with ``.get`` (case-insensitive headers objects work
    as they are), a list of ``(name, value)`` pairs, or anything `getter(headers, name)` can
    read. `op` defaults to `path`, `url` to `path`.
    """
    try:
        sw8, correlation = read_trace_headers(headers, getter)
        span = get_context().new_entry_span(
            path if op is None else op, None, inherit, sw8=sw8, correlation=correlation, method=method
        )
        tags: tuple = ((HTTP_METHOD, method), (HTTP_URL, path if url is None else url))
        if params:
            tags += ((HTTP_PARAMS, params),)
        return EntryScope(span, component, peer, tags)
    except Exception:
        failed('http_entry_span')
        return NoopScope()
