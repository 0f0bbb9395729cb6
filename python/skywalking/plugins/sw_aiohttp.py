"""aiohttp: exit spans for the client (`ClientSession._request`) and entry spans for
requests served by `aiohttp.web` (`web_protocol.RequestHandler._handle_request`), as
upstream's `sw_aiohttp` holds both. Each side has its own install function; `install()`
runs both.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking.plugins._http import http_exit_span
from skywalking.plugins._patch import patch
from skywalking.plugins._web import http_entry_scope, record_exception

link_vector = ['https://docs.aiohttp.org']
component = Component.AioHttp
support_matrix = {'aiohttp': {'>=3.10': ['3.9', '3.11', '3.14']}}
note = ''
hooked_modules = ['aiohttp']
version_rule = {'name': 'aiohttp', 'rules': ['>=3.9']}

_AIOHTTP = int(component)


# --- client ------------------------------------------------------------------------------


def _collector_netlocs() -> frozenset[str]:
    """``host:port`` of each HTTP backend the agent reports to (none over gRPC or Kafka)."""
    if str(config.agent_protocol).strip().lower() != 'http':
        return frozenset()
    netlocs = set()
    for address in str(config.agent_collector_backend_services).split(','):
        address = address.strip().rstrip('/')
        netlocs.add(address.rpartition('://')[2] if '://' in address else address)
    return frozenset(n for n in netlocs if n)


def _netloc(url: Any) -> str:
    if isinstance(url, str):
        rest = url.partition('://')[2]
        return rest.split('/', 1)[0].split('?', 1)[0].rpartition('@')[2]
    return f'{url.host}:{url.port}' if getattr(url, 'host', None) else ''


def _with_trace_headers(headers: Any, pairs: list[tuple[str, str]]) -> Any:
    """A copy of the caller's `headers` with `pairs` set, replacing headers of the same name
    (the caller's own object is left as it was; a dict stays a dict, anything else becomes a
    CIMultiDict, as aiohttp would make it)."""
    if headers is None:
        return dict(pairs)
    if isinstance(headers, dict):
        merged = {k: v for k, v in headers.items() if not (isinstance(k, str) and k.lower() in _TRACE_HEADERS)}
        merged.update(pairs)
        return merged
    from multidict import CIMultiDict

    merged = CIMultiDict(headers)
    for name, value in pairs:
        merged[name] = value
    return merged


_TRACE_HEADERS = frozenset(('sw8', 'sw8-correlation'))


def _wrap_request(request: Any) -> Any:
    async def _sw_request(this, method, str_or_url, *args, **kwargs):
        if config.agent_protocol != 'grpc' and _netloc(str_or_url) in _collector_netlocs():
            return await request(this, method, str_or_url, *args, **kwargs)  # the agent's own reports
        pairs: list[tuple[str, str]] = []
        with http_exit_span(str(str_or_url), method, _AIOHTTP, headers=pairs) as span:
            if pairs:
                kwargs['headers'] = _with_trace_headers(kwargs.get('headers'), pairs)
            response = await request(this, method, str_or_url, *args, **kwargs)
            span.tag_http_status(response.status)
            return response

    return _sw_request


def install_client() -> None:
    from aiohttp import ClientSession

    patch(ClientSession, '_request', _wrap_request)


# --- server: aiohttp.web ------------------------------------------------------------------


def _peer(request: Any) -> str:
    peername = getattr(request, '_transport_peername', None)
    if isinstance(peername, (list, tuple)) and len(peername) >= 2:
        return f'{peername[0]}:{peername[1]}'
    return f'{peername}'


def _wrap_handle_request(handle_request):
    async def _sw_handle_request(this, request, *args, **kwargs):
        path = request.path
        headers = request.headers  # a CIMultiDictProxy: `get` is native and case-insensitive
        scope = http_entry_scope(
            _AIOHTTP,
            request.method,
            path,
            headers.get('sw8'),
            headers.get('sw8-correlation'),
            _peer(request),
            f'{request.scheme}://{request.host}{path}',
        )
        with scope as span:
            answer = await handle_request(this, request, *args, **kwargs)
            span.tag_http_status(answer[0].status)
            return answer

    return _sw_handle_request


def _wrap_handle_error(handle_error):
    def _sw_handle_error(this, request, status=500, exc=None, *args, **kwargs):
        # aiohttp turns a handler's exception into a 500 here, inside the request's span.
        record_exception(exc)
        return handle_error(this, request, status, exc, *args, **kwargs)

    return _sw_handle_error


def install_server() -> None:
    from aiohttp.web_protocol import RequestHandler

    patch(RequestHandler, '_handle_request', _wrap_handle_request)
    patch(RequestHandler, 'handle_error', _wrap_handle_error)


def install() -> None:
    install_client()
    install_server()
