"""Exit spans for requests sent with the standard library's `http.client` by code that no
other plugin traces (a client library without a plugin, or `HTTPConnection` used directly),
so that such a call is recorded and still carries the trace downstream.

The span opens in `HTTPConnection.putrequest` and closes in `getresponse` (with the status),
when `request()` fails, or when the connection is closed first. A call made inside another
HTTP client's exit span (`requests`, urllib3, `urllib.request`) gives no span here: that
client's span is the call's one span, and its headers are the ones sent.

Not in upstream, which leaves such calls untraced.
"""

from __future__ import annotations

import inspect
from typing import Any

from skywalking import Component
from skywalking._core import inside_exit_span
from skywalking.plugins._common import failed, has_signature
from skywalking.plugins._http import INNER, http_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://docs.python.org/3/library/http.client.html']
component = Component.General
support_matrix = {'http_client': {'>=3.10': ['*']}}
note = 'Calls that no higher-level client plugin covers (not in upstream).'
hooked_modules = ['http.client']

_GENERAL = int(component)
_SPAN = '_sw_span'


def _url(connection: Any, url: Any) -> Any:
    if isinstance(url, str) and (url.startswith('http://') or url.startswith('https://')):
        return url  # through a proxy: the absolute URL
    host = getattr(connection, '_tunnel_host', None) or connection.host
    port = (getattr(connection, '_tunnel_port', None) if connection._tunnel_host else None) or connection.port
    scheme = 'https' if connection.default_port == 443 else 'http'
    if ':' in host and not host.startswith('['):
        host = f'[{host}]'
    return f'{scheme}://{host}:{port}{url}'


def _finish(connection: Any, error: BaseException | None = None, status: int | None = None, span: Any = None) -> None:
    if span is None:
        span = connection.__dict__.pop(_SPAN, None)
        if span is None:
            return
    try:
        if status is not None:
            span.tag_http_status(status)
        if error is None:
            span.__exit__(None, None, None)
        else:
            span.__exit__(type(error), error, error.__traceback__)
    except Exception:
        failed('sw_http_client')


def _start(connection: Any, method: Any, url: Any) -> None:
    try:
        span = http_exit_span(_url(connection, url), method, _GENERAL)
    except Exception:
        failed('sw_http_client')
        return
    if span is not INNER:
        span.start()
        connection.__dict__[_SPAN] = span


# The wrappers below run on every request that `http.client` sends, under every HTTP client
# library (inside their exit spans too): where the standard library's signatures are the
# known ones, they take the same parameters rather than ``*args, **kwargs`` (see
# `has_signature`), the generic ones being for any other.
_PUTREQUEST = '(self, method, url, skip_host=False, skip_accept_encoding=False)'
_REQUEST = '(self, method, url, body=None, headers={}, *, encode_chunked=False)'


def _wrap_putrequest(putrequest):
    if has_signature(putrequest, _PUTREQUEST):

        def _sw_putrequest(this, method, url, skip_host=False, skip_accept_encoding=False):
            if _SPAN in this.__dict__:
                _finish(this)  # a request that never read its response
            result = putrequest(this, method, url, skip_host, skip_accept_encoding)
            if not inside_exit_span():  # else another client's call (urllib3, requests): its span, its headers
                _start(this, method, url)
            return result

        return _sw_putrequest

    def _sw_putrequest_any(this, method, url, *args, **kwargs):
        if _SPAN in this.__dict__:
            _finish(this)
        result = putrequest(this, method, url, *args, **kwargs)
        if not inside_exit_span():
            _start(this, method, url)
        return result

    return _sw_putrequest_any


def _wrap_request(request):
    if has_signature(request, _REQUEST):
        no_headers = inspect.signature(request).parameters['headers'].default  # the original's own

        def _sw_request(this, method, url, body=None, headers=no_headers, *, encode_chunked=False):
            try:
                return request(this, method, url, body, headers, encode_chunked=encode_chunked)
            except Exception as error:
                _finish(this, error)
                raise

        return _sw_request

    def _sw_request_any(this, *args, **kwargs):
        try:
            return request(this, *args, **kwargs)
        except Exception as error:
            _finish(this, error)
            raise

    return _sw_request_any


def _wrap_getresponse(getresponse):
    def _sw_getresponse(this):
        # Taken first: getresponse() closes a connection the server will close.
        span = this.__dict__.pop(_SPAN, None)
        if span is None:
            return getresponse(this)
        try:
            response = getresponse(this)
        except Exception as error:
            _finish(this, error, span=span)
            raise
        _finish(this, status=response.status, span=span)
        return response

    return _sw_getresponse


def _wrap_close(close):
    def _sw_close(this):
        if _SPAN in this.__dict__:  # urllib3 closes each connection it drops: keep that cheap
            _finish(this)
        return close(this)

    return _sw_close


def install() -> None:
    from http.client import HTTPConnection

    patch(HTTPConnection, 'putrequest', _wrap_putrequest)
    patch(HTTPConnection, 'request', _wrap_request)
    patch(HTTPConnection, 'getresponse', _wrap_getresponse)
    patch(HTTPConnection, 'close', _wrap_close)
