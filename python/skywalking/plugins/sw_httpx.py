"""Exit spans for httpx (`Client.send`, `AsyncClient.send`), with `sw8` headers written into
the request's headers (httpx does not send through `http.client`).

A ``send`` covers its redirects (httpx copies the trace headers into each redirected
request): one span per call, with the final response's status.

Every header of a request costs httpx work in Python at each response too: its cookie
handling hands the request to the standard cookie jar as a `urllib.request.Request` built
from all its headers, decoded (`Cookies.extract_cookies`). The jar reads at most `Host` of
them, and the trace headers are the longest, so they are left out of that copy (and put
back).
"""

from __future__ import annotations

from operator import itemgetter

from skywalking import Component
from skywalking.plugins._http import http_exit_span_headers
from skywalking.plugins._patch import patch

link_vector = ['https://www.python-httpx.org/']
component = Component.HTTPX
support_matrix = {'httpx': {'>=3.10': ['0.22', '0.23', '0.28', '0.29']}}
note = ''
hooked_modules = ['httpx']

_HTTPX = int(component)


#: The trace headers' names as httpx keeps them (lower-case ASCII bytes).
_KEYS = {'sw8': b'sw8', 'sw8-correlation': b'sw8-correlation'}
_LOWER_KEY = itemgetter(1)


def _put_headers(headers, pairs: list[tuple[str, str]]) -> None:
    """``headers[name] = value`` for each pair, into an `httpx.Headers`: appended to its list
    of ``(raw key, lower-case key, value)`` byte triples (httpx 0.18 to today) when the
    request has no header of that name. ``__setitem__`` normalises, encodes and scans,
    about three microseconds a header, more than the rest of the plugin's work. The scan for
    an existing one runs in C (``map`` of ``itemgetter``), not a line of Python per header."""
    items = getattr(headers, '_list', None)
    for name, value in pairs:
        if type(items) is list:
            try:
                key = _KEYS.get(name) or name.encode('ascii')
                if key not in map(_LOWER_KEY, items):
                    items.append((key, key, value.encode('latin-1')))
                    continue
            except (TypeError, IndexError, UnicodeEncodeError):
                pass
        headers[name] = value


#: ``str(url)`` by the URL's parts: httpx builds the text in Python from its parts at each
#: ``str()`` (a few thousand instructions a request), while a client mostly calls the same
#: few URLs. Keyed by a plain tuple of the parts (`URL._uri_reference`, a named tuple in every
#: httpx version), so that equal keys mean equal text; emptied when full.
_URLS: dict[tuple, str] = {}
_URLS_MAX = 256


def _url_text(url) -> str:
    parts = getattr(url, '_uri_reference', None)
    if not isinstance(parts, tuple):
        return str(url)
    key = tuple(parts)
    try:
        text = _URLS.get(key)
    except TypeError:  # a part that cannot be hashed
        return str(url)
    if text is None:  # a URL not seen yet (a miss costs no exception)
        text = str(url)
        if len(_URLS) >= _URLS_MAX:
            _URLS.clear()
        _URLS[key] = text
    return text


#: The trace headers' keys in httpx's header list.
_OURS = (b'sw8', b'sw8-correlation')


def _wrap_extract_cookies(extract):
    def _sw_extract_cookies(this, response):
        try:
            items = response.request.headers._list
            traced = type(items) is list and items[-1][1] in _OURS  # appended last by _put_headers
        except Exception:
            traced = False
        if not traced:
            return extract(this, response)
        hidden = []
        while items and items[-1][1] in _OURS:
            hidden.append(items.pop())
        try:
            return extract(this, response)
        finally:
            items.extend(reversed(hidden))

    return _sw_extract_cookies


def _wrap_send(send):
    def _sw_send(this, request, **kwargs):
        span, headers = http_exit_span_headers(_url_text(request.url), request.method, _HTTPX)
        if headers:
            _put_headers(request.headers, headers)
        with span:
            response = send(this, request, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    return _sw_send


def _wrap_async_send(send):
    async def _sw_async_send(this, request, **kwargs):  # send's options are keyword-only
        span, headers = http_exit_span_headers(_url_text(request.url), request.method, _HTTPX)
        if headers:
            _put_headers(request.headers, headers)
        with span:
            response = await send(this, request, **kwargs)
            span.tag_http_status(response.status_code)
            return response

    return _sw_async_send


def install() -> None:
    from httpx import AsyncClient, Client, Cookies

    patch(Client, 'send', _wrap_send)
    patch(AsyncClient, 'send', _wrap_async_send)
    patch(Cookies, 'extract_cookies', _wrap_extract_cookies)
