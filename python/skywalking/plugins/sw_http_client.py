"""Exit spans for requests sent with the standard library's `http.client` by code that no
other plugin traces (a client library without a plugin, or `HTTPConnection` used directly),
so that such a call is recorded and still carries the trace downstream.

A call made inside another HTTP client's exit span (`requests`, urllib3, `urllib.request`)
gives no span here: that client's span is the call's one span, and its headers are the ones
sent. Such calls pass through `http.client` on every request (W2's `requests` call does), so
the plugin adds nothing to their way: no wrapper of its own on `HTTPConnection`. It hooks in
where the trace headers are written anyway (`endheaders`, `skywalking.trace.http_wire`),
which hands it only the requests that no exit span covers. For such a request it opens the
span there, writes its headers, and gives that one connection its own `getresponse` and
`close` (instance attributes, which win over the class's methods): the span closes in
`getresponse` (with the status), when sending fails, or when the connection is closed first.

Not in upstream, which leaves such calls untraced.
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from skywalking import Component
from skywalking._core import write_trace_headers
from skywalking.plugins._common import failed
from skywalking.plugins._http import INNER, ensure_wire, http_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://docs.python.org/3/library/http.client.html']
component = Component.General
support_matrix = {'http_client': {'>=3.10': ['*']}}
note = 'Calls that no higher-level client plugin covers (not in upstream).'
hooked_modules = ['http.client']

_GENERAL = int(component)
_SPAN = '_sw_span'
#: What a connection with a pending span carries in its `__dict__`.
_OWN = (_SPAN, 'getresponse', 'close')


def _url(connection: Any, url: str) -> str:
    if url.startswith('http://') or url.startswith('https://'):
        return url  # through a proxy: the absolute URL
    host = getattr(connection, '_tunnel_host', None) or connection.host
    port = (getattr(connection, '_tunnel_port', None) if connection._tunnel_host else None) or connection.port
    scheme = 'https' if connection.default_port == 443 else 'http'
    if ':' in host and not host.startswith('['):
        host = f'[{host}]'
    return f'{scheme}://{host}:{port}{url}'


def _request_line(connection: Any) -> tuple[str, str]:
    """Method and URL of the request being sent: `putrequest` put its request line first
    (``GET /path HTTP/1.1``, ASCII; a URL holds no space, `http.client` refuses one)."""
    method, url, _version = connection._buffer[0].decode('ascii').split(' ')
    return method, url


def _take(connection: Any) -> Any:
    """The connection's pending span (None without one), its own methods taken out."""
    own = connection.__dict__
    span = own.pop(_SPAN, None)
    own.pop('getresponse', None)
    own.pop('close', None)
    return span


def _finish(span: Any, error: BaseException | None = None, status: int | None = None) -> None:
    try:
        if status is not None:
            span.tag_http_status(status)
        if error is None:
            span.__exit__(None, None, None)
        else:
            span.__exit__(type(error), error, error.__traceback__)
    except Exception:
        failed('sw_http_client')


def _uncovered_call(connection: Any, endheaders: Any, message_body: Any, encode_chunked: bool) -> Any:
    """`endheaders` of a request no exit span covers (see `skywalking.trace.http_wire`)."""
    pending = _take(connection)
    if pending is not None:
        _finish(pending)  # a request that never read its response
    span = None
    try:
        method, url = _request_line(connection)
        span = http_exit_span(_url(connection, url), method, _GENERAL)
        if span is INNER:
            span = None
        else:
            span.start()
            write_trace_headers(connection._buffer)
    except Exception:
        failed('sw_http_client')
    if span is None:
        return endheaders(connection, message_body, encode_chunked=encode_chunked)
    try:
        result = endheaders(connection, message_body, encode_chunked=encode_chunked)
    except Exception as error:
        _finish(span, error)
        raise
    own = connection.__dict__
    own[_SPAN] = span
    own['getresponse'] = MethodType(_getresponse, connection)
    own['close'] = MethodType(_close, connection)
    return result


def _getresponse(connection: Any) -> Any:
    # Taken first: getresponse() closes a connection the server will close.
    span = _take(connection)
    if span is None:
        return type(connection).getresponse(connection)
    try:
        response = type(connection).getresponse(connection)
    except Exception as error:
        _finish(span, error)
        raise
    _finish(span, status=response.status)
    return response


def _close(connection: Any) -> None:
    span = _take(connection)
    if span is not None:
        _finish(span)
    return type(connection).close(connection)


def install() -> None:
    from skywalking.trace import http_wire

    ensure_wire()
    patch(http_wire, 'uncovered_call', lambda _none: _uncovered_call)
