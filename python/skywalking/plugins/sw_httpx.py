"""Exit spans for httpx (`Client.send`, `AsyncClient.send`), one per call: a ``send``
covers its redirects, with the final response's status.

Where the trace headers go. A client whose requests all go out through httpcore's HTTP/1.1
connections (httpx's own transport, no mounts or proxies, ``http2`` off: the default) gets
them as h11 writes each request, redirected ones included: a hook on h11's writer of a
request adds them to the request event's header list, which h11 has validated and read by
then (`_core.write_trace_header_items`). Written into `request.headers` instead, the two headers
cost httpx, httpcore and h11 about 40,000 instructions per request (normalising, validating
by regular expression, writing, and the cookie jar's copy of the request), more than the
rest of the agent's work on it (docs/Benchmarks.md, W6). Any other client (HTTP/2, a mounted
or custom transport, `MockTransport`, `ASGITransport`, a proxy) gets them in
`request.headers`, as apache-skywalking writes them for every client.

In that second way every header of a request also costs httpx work in Python at each
response: its cookie handling hands the request to the standard cookie jar as a
`urllib.request.Request` built from all its headers, decoded (`Cookies.extract_cookies`).
The jar reads at most `Host` of them, and the trace headers are the longest, so they are
left out of that copy (and put back).
"""

from __future__ import annotations

from operator import itemgetter

from skywalking import Component
from skywalking._core import request_exit_span, write_trace_header_items
from skywalking.loggings import logger
from skywalking.plugins._common import _untraced
from skywalking.plugins._http import INNER, http_exit_span_headers
from skywalking.plugins._patch import patch, patch_item

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
#: httpx version; rfc3986's, under httpx 0.22, compares by normalised form), so that equal
#: keys mean equal text; emptied when full.
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


#: Whether h11's writer of requests is hooked (see the module's doc); while it is not, every
#: client gets its trace headers in `request.headers`.
_h11_hooked = False
#: httpx's own transports and httpcore's plain pools (not a proxy's): see `_through_h11`.
_TRANSPORTS: tuple[type, ...] = ()
_POOLS: tuple[type, ...] = ()
#: Attribute of a client holding ``(its transport, _through_h11(client))``: judged once per
#: client and transport, not at every request (a dozen lines of Python).
_VERDICT = '_sw_through_h11'


def _through_h11(client, transport) -> bool:
    """Whether every request of `client` goes out through httpcore's HTTP/1.1 connections:
    its transport is httpx's own, on a plain connection pool with HTTP/2 off, and no other
    transport is mounted for some URLs (proxies, including those from the environment; a
    URL mounted to None, as `NO_PROXY` makes them, uses the client's own transport)."""
    try:
        pool = transport._pool
        verdict = (
            not any(client._mounts.values())
            and type(transport) in _TRANSPORTS
            and type(pool) in _POOLS
            and not pool._http2
        )
    except AttributeError:  # another httpx or httpcore: the other way
        verdict = False
    try:
        setattr(client, _VERDICT, (transport, verdict))
    except Exception:  # a client that takes no attributes is judged at every request
        pass
    return verdict


def _open(client, request):
    """The exit span of `request`, started, with its trace headers on their way."""
    url = _url_text(request.url)
    transport = getattr(client, '_transport', None)
    known = getattr(client, _VERDICT, None)
    through_h11 = known[1] if known is not None and known[0] is transport else _through_h11(client, transport)
    if through_h11 and _h11_hooked and not _untraced.get():
        span = request_exit_span(url, request.method, _HTTPX, True)  # started; never raises
        return INNER if span is None else span
    span, headers = http_exit_span_headers(url, request.method, _HTTPX)
    if headers:
        _put_headers(request.headers, headers)
    span.start()
    return span


def _wrap_write_request(write_request):
    def _sw_write_request(request, write):
        try:
            write_trace_header_items(request.headers._full_items)
        except Exception:
            pass  # sent without the trace headers rather than not at all
        return write_request(request, write)

    return _sw_write_request


def _hook_h11() -> None:
    """Hooks h11's writer of a client's request (``h11._writers.WRITERS[CLIENT, IDLE]``, which
    a connection looks up whenever it becomes idle) when this h11 keeps a request's
    validated headers as ``(raw name, lower-case name, value)`` triples (h11 0.12 to today);
    otherwise every client keeps getting its trace headers in `request.headers`.

    The writer runs after h11 has read the request's headers for itself (keep-alive, body
    framing), so the trace headers cost it nothing there, and only for requests: servers
    on h11 (uvicorn) never call it. A connection already open and idle when the hook goes
    in (an agent started after the application's first requests) sends one more request with
    the writer it took, without the trace headers; it takes the hooked one after that."""
    global _h11_hooked, _TRANSPORTS, _POOLS
    try:
        import h11
        import httpcore
        import httpx
        from h11._writers import WRITERS

        probe = h11.Request(method='GET', target='/', headers=[('Host', 'h')])
        if probe.headers._full_items != [(b'Host', b'host', b'h')]:
            raise TypeError('unexpected header list')
        if not callable(WRITERS[h11.CLIENT, h11.IDLE]):
            raise TypeError('unexpected table of writers')
        transports = (httpx.HTTPTransport, httpx.AsyncHTTPTransport)
        pools = (httpcore.ConnectionPool, httpcore.AsyncConnectionPool)
    except Exception as error:
        logger.info('sw_httpx: trace headers go into request.headers (h11 layout not recognised: %s)', error)
        return
    patch_item(WRITERS, (h11.CLIENT, h11.IDLE), _wrap_write_request, on_restore=_unhook_h11)
    _TRANSPORTS, _POOLS, _h11_hooked = transports, pools, True


def _unhook_h11() -> None:
    global _h11_hooked
    _h11_hooked = False


# The span leaves by `finish_with_status` or `__exit__`, not by `with`: one call into `_core`
# at the end of a request instead of three (`__enter__`, `tag_http_status`, `__exit__`).
def _wrap_send(send):
    def _sw_send(this, request, **kwargs):
        span = _open(this, request)
        try:
            response = send(this, request, **kwargs)
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.finish_with_status(response.status_code)
        return response

    return _sw_send


def _wrap_async_send(send):
    async def _sw_async_send(this, request, **kwargs):  # send's options are keyword-only
        span = _open(this, request)
        try:
            response = await send(this, request, **kwargs)
        except BaseException as error:
            span.__exit__(type(error), error, error.__traceback__)
            raise
        span.finish_with_status(response.status_code)
        return response

    return _sw_async_send


def install() -> None:
    from httpx import AsyncClient, Client, Cookies

    patch(Client, 'send', _wrap_send)
    patch(AsyncClient, 'send', _wrap_async_send)
    patch(Cookies, 'extract_cookies', _wrap_extract_cookies)
    _hook_h11()
