"""Exit spans for outgoing HTTP requests.

::

    with http_exit_span(url, method, COMPONENT) as span:          # sent through http.client
        response = send()
        span.tag_http_status(response.status_code)

    with http_exit_span(url, method, COMPONENT, headers=request_headers) as span:
        ...                                                        # headers: dict or pairs

Operation name is the URL's path (``/`` when empty), peer its ``host:port``, layer HTTP, tags
``http.method`` and ``http.url`` (user and password removed), in one native call; a method
in `plugin_http_ignore_method` gives a `NoopSpan` (whose ``sw8`` still tells the server not
to trace). ``tag_http_status`` records ``http.status_code`` and marks 4xx/5xx as errors.

The helper writes ``sw8`` and ``sw8-correlation`` itself: into `headers` when given (a dict,
a headers object, or a list of pairs), or, without `headers`, into the request as
`http.client` sends it (the hook is put in place the first time it is needed, so a plugin
cannot forget it). The second way skips the client library's header handling, which costs
more than all the rest of the agent's work on a request (`skywalking.trace.http_wire`).

One outgoing call gives one exit span. A client library called by another one while that
one's exit span is open (urllib3 under `requests`, `http.client` under urllib3) gets
`INNER`, which records nothing, writes no headers and is not made active: the outer
client's span stays the active one, and its headers are the ones `http.client` sends.
A plugin of such a lower layer asks ``_core.inside_exit_span()`` first, one native call,
and steps aside before it builds a URL for this helper (W2's `requests` call passes
through urllib3 and `http.client`; `http.client`'s plugin is handed only the requests that
no exit span covers, see `skywalking.trace.http_wire`).
"""

from __future__ import annotations

from typing import Any

from skywalking._core import get_context
from skywalking.plugins._common import Setter, failed, inject, inside_untraced, noop_span

_wire = {'hooked': False}


def _ensure_wire() -> None:
    from skywalking.trace import http_wire

    http_wire.install(on_restore=_unhooked)
    _wire['hooked'] = True


def ensure_wire() -> None:
    """Puts the `http.client` hook in place now (`skywalking.trace.http_wire`), for the
    plugin being installed: the hook then stays while that plugin is installed. For a
    plugin that opens its spans with ``inject_on_send`` itself, without `http_exit_span`
    (which puts the hook in place when it is missing)."""
    _ensure_wire()


def _unhooked() -> None:
    _wire['hooked'] = False


class _Inner:
    """The span of a call that another HTTP client's exit span already covers: a context
    manager and span stand-in that does nothing (and does not become the active span)."""

    __slots__ = ()
    is_noop = True

    def __enter__(self) -> _Inner:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False

    def start(self) -> _Inner:
        return self

    def stop(self) -> bool:
        return False

    def tag_http_status(self, status: int) -> None:
        pass

    def finish_with_status(self, status: int) -> None:
        pass

    def set_tag(self, key: str, value: object, overridable: bool = True) -> _Inner:
        return self

    def tag(self, tag: Any) -> _Inner:
        return self

    def log(self, ex: Any) -> _Inner:
        return self

    def raised(self) -> _Inner:
        return self

    def inject_headers(self) -> list[tuple[str, str]]:
        return []


#: What `http_exit_span` returns inside another HTTP client's exit span.
INNER: Any = _Inner()


def http_exit_span(
    url: str | bytes,
    method: str | bytes,
    component: int,
    *,
    headers: Any = None,
    setter: Setter | None = None,
    encoding: str = 'text',
) -> Any:
    """The exit span of a request to `url` (not started: use it with ``with``).

    With `headers` (or a `setter`), the trace headers are written there now (see
    `skywalking.plugins._common.inject` for the shapes and `encoding`); without, into the
    request `http.client` sends while the span is active. `INNER` inside another HTTP
    client's exit span (see the module's doc).
    """
    try:
        on_send = headers is None and setter is None
        if on_send and not _wire['hooked']:
            _ensure_wire()
        span = get_context().new_http_exit_span(url, method, component, on_send)
        if span is None:
            return INNER
        if not on_send:
            inject(span, headers, setter, encoding)
        return span
    except Exception:
        failed('http_exit_span')
        return noop_span()


def http_exit_span_headers(url: str | bytes, method: str | bytes, component: int) -> tuple[Any, list[tuple[str, str]]]:
    """`http_exit_span` for a plugin that writes the trace headers itself, on its hot path:
    the span (not started) and the ``(name, value)`` pairs to send, empty for `INNER` and
    for a no-op span inside `untraced` (text values, ``sw8-correlation`` only when there is
    one). One frame instead of the three of `http_exit_span`, `inject` and a setter."""
    try:
        span = get_context().new_http_exit_span(url, method, component, False)
        if span is None:
            return INNER, []
        if span.is_noop and inside_untraced():
            return span, []
        return span, span.inject_headers()
    except Exception:
        failed('http_exit_span')
        return noop_span(), []
