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
"""

from __future__ import annotations

from typing import Any

from skywalking._core import get_context
from skywalking.plugins._common import Setter, failed, inject, noop_span

_wire = {'hooked': False}


def _ensure_wire() -> None:
    from skywalking.trace import http_wire

    http_wire.install(on_restore=_unhooked)
    _wire['hooked'] = True


def _unhooked() -> None:
    _wire['hooked'] = False


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
    request `http.client` sends while the span is active.
    """
    try:
        on_send = headers is None and setter is None
        if on_send and not _wire['hooked']:
            _ensure_wire()
        span = get_context().new_http_exit_span(url, method, component, on_send)
        if not on_send:
            inject(span, headers, setter, encoding)
        return span
    except Exception:
        failed('http_exit_span')
        return noop_span()
