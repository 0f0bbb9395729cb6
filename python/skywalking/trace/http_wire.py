"""Trace headers written into HTTP requests as `http.client` sends them.

HTTP client plugins built on `http.client` (`requests` through urllib3) open their exit
span with ``inject_on_send=True`` instead of adding ``sw8`` and ``sw8-correlation`` to the
headers they pass to the library. The hook below hands the request's header lines to the
native core just before they are sent, and the core adds the active exit span's two lines
(or replaces them when the caller set them). Passed as ordinary headers, the two lines go
through the library's whole header handling, which costs more than everything else the
agent does for the request (see `crates/pyext/src/http_client.rs`).

A consequence: a client whose transport does not reach `http.client` (a mocking library
that replaces the transport adapter) sends no trace headers. The exit span is recorded
as usual.
"""

from __future__ import annotations

import http.client

from skywalking._core import write_trace_headers


def install() -> None:
    """Hooks `http.client.HTTPConnection.endheaders` once per process."""
    connection = http.client.HTTPConnection
    if getattr(connection, '_sw_trace_headers', False):
        return
    _endheaders = connection.endheaders

    def endheaders(self, message_body=None, *, encode_chunked=False):
        try:
            write_trace_headers(self._buffer)
        except Exception:  # a subclass without `_buffer`: send it untraced, never break the request
            pass
        return _endheaders(self, message_body, encode_chunked=encode_chunked)

    endheaders.__wrapped__ = _endheaders  # type: ignore[attr-defined]
    connection.endheaders = endheaders  # type: ignore[method-assign]
    connection._sw_trace_headers = True  # type: ignore[attr-defined]
