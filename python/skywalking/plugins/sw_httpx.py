"""Exit spans for httpx (`Client.send`, `AsyncClient.send`), with `sw8` headers written into
the request's headers (httpx does not send through `http.client`).

A ``send`` covers its redirects (httpx copies the trace headers into each redirected
request): one span per call, with the final response's status.
"""

from __future__ import annotations

from skywalking import Component
from skywalking.plugins._http import http_exit_span
from skywalking.plugins._patch import patch

link_vector = ['https://www.python-httpx.org/']
component = Component.HTTPX
support_matrix = {'httpx': {'>=3.10': ['0.22', '0.23', '0.28', '0.29']}}
note = ''
hooked_modules = ['httpx']

_HTTPX = int(component)


def _put_header(headers, name: str, value: str) -> None:
    """``headers[name] = value`` for an `httpx.Headers`, appended to its list of
    ``(raw key, lower-case key, value)`` byte triples (httpx 0.18 to today) when the request
    has no header of that name: ``__setitem__`` normalises, encodes and scans, about
    three microseconds a header, more than the rest of the plugin's work."""
    items = getattr(headers, '_list', None)
    if type(items) is list:
        key = name.encode('ascii')  # the trace headers' names are lower-case ASCII
        try:
            if all(item[1] != key for item in items):
                items.append((key, key, value.encode('latin-1')))
                return
        except (TypeError, IndexError, UnicodeEncodeError):
            pass
    headers[name] = value


def _wrap_send(send):
    def _sw_send(this, request, *args, **kwargs):
        with http_exit_span(
            str(request.url), request.method, _HTTPX, headers=request.headers, setter=_put_header
        ) as span:
            response = send(this, request, *args, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    return _sw_send


def _wrap_async_send(send):
    async def _sw_async_send(this, request, *args, **kwargs):
        with http_exit_span(
            str(request.url), request.method, _HTTPX, headers=request.headers, setter=_put_header
        ) as span:
            response = await send(this, request, *args, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    return _sw_async_send


def install() -> None:
    from httpx import AsyncClient, Client

    patch(Client, 'send', _wrap_send)
    patch(AsyncClient, 'send', _wrap_async_send)
