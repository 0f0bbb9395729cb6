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

from skywalking import Component, _core
from skywalking.plugins._common import EntryScope, Getter, failed, noop_scope, read_trace_headers, record_exception

#: ``http_entry_scope(component, method, path, sw8=None, correlation=None, peer=None,
#: url=None, op=None, inherit=None, params=None) -> EntryScope`` (native): `http_entry_span`
#: for a plugin that has the ``sw8`` and ``sw8-correlation`` values (text) already; never raises.
http_entry_scope = _core.http_entry_scope

__all__ = [
    'asgi_entry_span',
    'format_params',
    'http_entry_scope',
    'http_entry_span',
    'record_exception',
    'traced_asgi_call',
    'wsgi_entry_span',
    'wsgi_request_url',
]


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


#: ``wsgi_entry_span(environ, component, method=None, op=None, inherit=None, url=None,
#: params=None) -> EntryScope`` (native): the entry span of a WSGI request (arguments by
#: position are cheaper on a request path than by keyword).
#:
#: `op` defaults to ``PATH_INFO``; `method` to ``REQUEST_METHOD``; `inherit` (usually
#: ``Component.General``) takes over a running entry span of that component (the server
#: plugin's) instead of nesting a second one. The trace headers, the ignored methods, the
#: peer (``REMOTE_ADDR:REMOTE_PORT``), ``http.method`` and ``http.url`` are read from the
#: environ natively; `url(environ)` is asked for ``http.url`` only when the environ alone
#: cannot say it with certainty (frameworks pass their own request URL there; the default
#: is `wsgi_request_url`). `params` is the ``http.params`` text, when the framework collects it.
wsgi_entry_span = _core.wsgi_entry_scope


# --- ASGI ---------------------------------------------------------------------------------


#: ``asgi_entry_span(scope, component, method=None, op=None, inherit=None, url=None,
#: peer=None, params=None, send=None) -> EntryScope`` (native): the entry span of an ASGI
#: ``http`` or ``websocket`` scope, read from the scope in one native call (arguments by
#: position are cheaper on a request path than by keyword).
#:
#: ``sw8``, ``sw8-correlation`` and ``host`` come from the scope's header pairs in one pass
#: (no dict per request). Defaults: `op` the scope's ``path``; `method` its ``method``
#: (``websocket.accept`` for a websocket scope, upstream's FastAPI rule); `url`
#: ``<scheme>://<host><path>`` with the Host header, else the scope's ``server``; `peer` the
#: scope's ``client`` as ``host:port`` (left empty without one). With the server's `send`,
#: the scope's ``send`` attribute is what the application must be given instead: it notes
#: the answer's status (``http.response.start``; 200 once a websocket is accepted or
#: closed; 500 when nothing was sent, as when the application raised), which leaving the
#: scope records as ``http.status_code``.
asgi_entry_span = _core.asgi_entry_scope


#: Set in an ASGI scope once an entry span is open for it: an application mounted in another
#: one, or run under the ASGI middleware, does not open a second span for the same request.
SCOPE_MARKER = 'skywalking.traced'

_GENERAL = int(Component.General)  # a server plugin's span, taken over


async def traced_asgi_call(
    call: Callable, app: Any, scope: dict, receive: Any, send: Any, component: int, *, params: str | None = None
) -> Any:
    """Awaits ``call(app, scope, receive, send)`` inside the entry span of an ASGI ``http`` or
    ``websocket`` `scope` (taking over a server plugin's span), with the status read from
    what the application sends (see `asgi_entry_span`). An exception is recorded with its
    traceback and re-raised unchanged. The peer is the scope's client (``unknown`` without
    one). Plugins on a request path inline this (one coroutine less per request).
    """
    scope[SCOPE_MARKER] = True
    entry = asgi_entry_span(
        scope, component, None, None, _GENERAL, None, None if scope.get('client') else 'unknown', params, send
    )
    with entry:
        return await call(app, scope, receive, entry.send)


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
    read. `op` defaults to `path`, `url` to `path`. A plugin that reads the two trace headers
    itself calls `http_entry_scope` (native) with them instead: one call less per request.
    """
    try:
        sw8, correlation = read_trace_headers(headers, getter)
    except Exception:
        failed('http_entry_span')
        return noop_scope()
    return http_entry_scope(component, method, path, sw8, correlation, peer, url, op, inherit, params)
