"""aiohttp: entry spans for requests served by `aiohttp.web`.

The client side (exit spans for `ClientSession`) belongs in this module too, as upstream's
`sw_aiohttp` holds both; it is not written yet. Add it as its own section below, with its
own ``install_client()`` called from `install()` (and ``'aiohttp'`` in `hooked_modules`).
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._patch import patch
from skywalking.plugins._web import http_entry_span, record_exception

link_vector = ['https://docs.aiohttp.org']
component = Component.AioHttp
support_matrix = {'aiohttp': {'>=3.10': ['3.9', '3.14']}}
note = 'Server side (aiohttp.web).'
hooked_modules = ['aiohttp.web_protocol']
version_rule = {'name': 'aiohttp', 'rules': ['>=3.9']}

_AIOHTTP = int(component)


# --- server: aiohttp.web ------------------------------------------------------------------


def _peer(request: Any) -> str:
    peername = getattr(request, '_transport_peername', None)
    if isinstance(peername, (list, tuple)) and len(peername) >= 2:
        return f'{peername[0]}:{peername[1]}'
    return f'{peername}'


def _wrap_handle_request(handle_request):
    async def _sw_handle_request(this, request, *args, **kwargs):
        path = request.path
        scope = http_entry_span(
            _AIOHTTP,
            method=request.method,
            path=path,
            headers=request.headers,
            peer=_peer(request),
            url=f'{request.scheme}://{request.host}{path}',
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


# --- client: ClientSession (to be written) -------------------------------------------------


def install() -> None:
    install_server()
