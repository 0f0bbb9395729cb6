"""websockets: an exit span for the client's opening handshake, with `sw8` headers sent in
the handshake request. Both clients are traced: the legacy one
(`websockets.legacy.client.WebSocketClientProtocol.handshake`, websockets 10 to 13) and the
asyncio one (`websockets.asyncio.client.ClientConnection.handshake`, 13 and later).

As upstream, only the handshake is traced, not the messages exchanged afterwards:
``http.method`` is ``websocket.connect``, ``http.url`` ``ws(s)://host:port/path`` and
``http.status_msg`` ``connection open`` or ``invalid handshake``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skywalking import Component, Layer
from skywalking._core import get_context
from skywalking.plugins._common import failed, noop_span
from skywalking.plugins._patch import patch

link_vector = ['https://websockets.readthedocs.io']
component = Component.Websockets
support_matrix = {'websockets': {'>=3.10': ['10.3', '10.4', '13.1', '17.4']}}
note = 'Only the client handshake is traced, not the messages (as upstream).'
hooked_modules = ['websockets']

_WEBSOCKETS = int(component)
_HTTP = int(Layer.Http)
_TRACE_HEADERS = ('sw8', 'sw8-correlation')


def _exit_span(uri: Any) -> tuple[Any, list[tuple[str, str]]]:
    try:
        path = uri.path or '/'
        span = get_context().new_exit_span(path, f'{uri.host}:{uri.port}', _WEBSOCKETS)
        span.layer = _HTTP
        span.set_tag('http.method', 'websocket.connect')
        span.set_tag('http.url', f'{"wss" if uri.secure else "ws"}://{uri.host}:{uri.port}{uri.path}')
        return span, [(name, value) for name, value in span.inject_headers() if value]
    except Exception:
        failed('sw_websockets')
        return noop_span(), []


def _headers_with(headers: Any, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The caller's headers (a websockets `Headers`, a mapping or pairs) as pairs, with `pairs`
    replacing headers of the same name."""
    if headers is None:
        items: list = []
    elif hasattr(headers, 'raw_items'):
        items = list(headers.raw_items())
    elif isinstance(headers, Mapping):
        items = list(headers.items())
    else:
        items = list(headers)
    return [(k, v) for k, v in items if str(k).lower() not in _TRACE_HEADERS] + pairs


async def _traced_handshake(span: Any, handshake: Any, *args: Any, **kwargs: Any) -> None:
    with span:
        status = 'connection open'
        try:
            await handshake(*args, **kwargs)
        except Exception:
            status = 'invalid handshake'
            raise
        finally:
            span.set_tag('http.status_msg', status)


def _wrap_legacy_handshake(handshake):
    async def _sw_handshake(this, wsuri, origin=None, available_extensions=None, available_subprotocols=None,
                            extra_headers=None):  # fmt: skip
        span, pairs = _exit_span(wsuri)
        if pairs:
            # The legacy handshake sends `self.extra_headers` (connect() passes the same
            # object as the argument).
            this.extra_headers = _headers_with(getattr(this, 'extra_headers', None) or extra_headers, pairs)
            extra_headers = this.extra_headers
        await _traced_handshake(
            span, handshake, this, wsuri, origin, available_extensions, available_subprotocols, extra_headers
        )

    return _sw_handshake


def _wrap_handshake(handshake):
    async def _sw_handshake(this, *args, **kwargs):
        protocol = this.protocol
        uri = getattr(protocol, 'uri', None) or protocol.wsuri
        span, pairs = _exit_span(uri)
        if pairs:
            # connect() passes (additional_headers, user_agent_header) positionally
            if args:
                args = (_headers_with(args[0], pairs), *args[1:])
            else:
                kwargs['additional_headers'] = _headers_with(kwargs.get('additional_headers'), pairs)
        await _traced_handshake(span, handshake, this, *args, **kwargs)

    return _sw_handshake


def install() -> None:
    try:
        from websockets.legacy.client import WebSocketClientProtocol
    except ImportError:  # removed from newer websockets
        pass
    else:
        patch(WebSocketClientProtocol, 'handshake', _wrap_legacy_handshake)
    try:
        from websockets.asyncio.client import ClientConnection
    except ImportError:  # before websockets 13
        return
    patch(ClientConnection, 'handshake', _wrap_handshake)
