"""Trace headers written into HTTP requests as `http.client` sends them.

HTTP client plugins built on `http.client` (`requests` through urllib3, `urllib.request`)
open their exit span through `skywalking.plugins._http.http_exit_span` without a headers
container; the span is then marked ``inject_on_send``, and the hook below hands the
request's header lines to the native core just before they are sent, which adds the active
exit span's two lines (or replaces them when the caller set them). Passed as ordinary
headers, the two lines go through the library's whole header handling, which costs more
than everything else the agent does for the request (see `crates/pyext/src/http_client.rs`).

A consequence: a client whose transport does not reach `http.client` (a mocking library
that replaces the transport adapter) sends no trace headers. The exit span is recorded
as usual.

The same hook serves requests sent with `http.client` itself, outside any exit span (a
client library without a plugin, `HTTPConnection` used directly): `sw_http_client` sets
`uncovered_call` (through `skywalking.plugins._patch`, so that uninstalling the plugin
takes it out), and the hook hands it such a request. Every other request (`requests`
over urllib3, ...) pays nothing more for it: the call that writes the headers says
whether an exit span covers the request.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

from skywalking._core import write_trace_headers
from skywalking.plugins import _patch

#: ``uncovered_call(connection, endheaders, message_body, encode_chunked)``: sends a request
#: that no exit span covers (and traces it), instead of ``endheaders``; None: such a request
#: is sent as it is. Set by `sw_http_client`'s install, with `_patch.patch`.
uncovered_call: Callable[[Any, Callable, Any, bool], Any] | None = None


def _wrap_endheaders(endheaders):
    def _sw_endheaders(self, message_body=None, *, encode_chunked=False):
        try:
            # True when an exit span covers the request (its headers are written now).
            covered = write_trace_headers(self._buffer)
        except Exception:  # a subclass without `_buffer`: send it untraced, never break the request
            covered = True
        if not covered and uncovered_call is not None:
            return uncovered_call(self, endheaders, message_body, encode_chunked)
        return endheaders(self, message_body, encode_chunked=encode_chunked)

    return _sw_endheaders


def install(on_restore: Callable[[], None] | None = None) -> None:
    """Hooks `http.client.HTTPConnection.endheaders` once per process (restorable through
    `skywalking.plugins.uninstall`); `on_restore` runs when the hook is taken out."""
    _patch.patch(http.client.HTTPConnection, 'endheaders', _wrap_endheaders, on_restore=on_restore)
