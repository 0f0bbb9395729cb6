"""What every span helper shares: failing safely, reading and writing trace headers, and the
scope that starts an entry span.

A helper never raises into the application. When one fails (a library handed it something
unexpected, the core refused), it logs one warning per helper and process and returns a
`NoopSpan`: the call goes ahead untraced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from skywalking import _core
from skywalking._core import NoopSpan, get_context, trace_headers
from skywalking.loggings import logger
from skywalking.trace._support import format_exception

SW8 = 'sw8'
SW8_CORRELATION = 'sw8-correlation'


_reported: set[str] = set()
_reported_lock = threading.Lock()


def failed(helper: str, error: BaseException | None = None) -> None:
    """Logs `error` (default: the exception being handled), once per `helper` and process
    (later ones at debug level). The native helpers call it too."""
    with _reported_lock:
        first = helper not in _reported
        _reported.add(helper)
    exc_info: Any = error if error is not None else True
    if first:
        logger.warning('%s failed; the call goes ahead untraced (reported once)', helper, exc_info=exc_info)
    else:
        logger.debug('%s failed again', helper, exc_info=exc_info)


def has_signature(function: Any, expected: str) -> bool:
    """Whether ``str(inspect.signature(function))`` is `expected` (names, kinds, defaults). A
    plugin wraps such a function with a wrapper of the same parameters, which CPython calls for
    ~4,000 fewer instructions than a ``*args, **kwargs`` one when the caller passes keywords
    (no dict to build and unpack again), and any other version with the generic wrapper."""
    import inspect

    try:
        return str(inspect.signature(function)) == expected
    except (TypeError, ValueError):
        return False


def noop_span() -> Any:
    """A span that records nothing and still works as a context manager."""
    return NoopSpan()


#: True inside `untraced`: a no-op span there writes no trace headers (see `inject`).
_untraced: ContextVar[bool] = ContextVar('sw_untraced', default=False)


class untraced:  # lower case: used like a function, ``with untraced():``
    """A scope in which nothing is traced: ``with untraced(): ...``. For a library's own
    housekeeping (a task queue's broker polling, acknowledgements, heartbeats; the transport
    calls under a send that already has its span): what runs inside opens no spans, whichever
    plugin would make them, and writes no trace headers (the headers of a message sent inside
    are the ones the outer span wrote, not a no-op span's "not traced" value).

    It is a `NoopSpan` on the active stack: every span opened under a no-op span is a no-op,
    the rule that already keeps an ignored or unsampled request untraced, so a traced call
    elsewhere pays nothing for it. Work that the library runs inside the scope on the
    application's behalf (a task a worker executes) opens its entry span in a context of its
    own (``mq_consumer_span(..., own_segment=True)``), and what it calls is traced again.
    """

    __slots__ = ('_span', '_token')

    def __enter__(self) -> None:
        self._token = _untraced.set(True)
        self._span = NoopSpan()
        self._span.__enter__()

    def __exit__(self, *exc: Any) -> bool:
        try:
            self._span.__exit__(*exc)
        finally:
            _untraced.reset(self._token)
        return False


def inside_untraced() -> bool:
    """Whether the caller runs inside `untraced` (a library's housekeeping)."""
    return _untraced.get()


def truncate(text: str, max_length: int) -> str:
    """`text` cut to `max_length` characters with ``...`` appended when longer (upstream's
    format for ``db.sql.parameters`` and MongoDB statements); unchanged when `max_length` <= 0."""
    if 0 < max_length < len(text):
        return f'{text[:max_length]}...'
    return text


def as_text(value: Any) -> str:
    """A header value, statement or key as text: bytes decoded (UTF-8, else Latin-1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError:
            return data.decode('latin-1')
    return str(value)


def record_exception(error: BaseException | None) -> None:
    """Marks the active span as an error with `error`'s traceback as its log, as leaving a
    span by that exception would: for a framework's error hook, which handles the exception
    while the request's entry span is still open (possibly in another thread, where
    ``Span.raised()`` would find no exception being handled). Never raises."""
    if error is None:
        return
    try:
        span = get_context().active_span
        if span is not None and not span.is_noop:
            span.log(format_exception(error))
    except Exception:
        failed('record_exception')


# --- carriers in and out ------------------------------------------------------------------

#: ``getter(headers, name) -> value | None`` for header containers of an unusual shape.
Getter = Callable[[Any, str], Any]
#: ``setter(headers, name, value)``.
Setter = Callable[[Any, str, str], None]


def read_trace_headers(headers: Any, getter: Getter | None = None) -> tuple[str | None, str | None]:
    """``(sw8, sw8-correlation)`` from `headers`: a mapping (``.get``, e.g. a dict written by
    `inject`, a case-insensitive headers object), a list of ``(name, value)`` pairs (text or
    bytes, ASGI and Kafka style), or anything else through `getter`. Bytes values are decoded.
    """
    if headers is None:
        return None, None
    if getter is not None:
        sw8, correlation = getter(headers, SW8), getter(headers, SW8_CORRELATION)
    elif hasattr(headers, 'get') and not isinstance(headers, (list, tuple)):
        sw8, correlation = headers.get(SW8), headers.get(SW8_CORRELATION)
    else:
        sw8, correlation, _ = trace_headers(headers)
        return sw8, correlation
    return (
        None if sw8 is None else as_text(sw8),
        None if correlation is None else as_text(correlation),
    )


def inject(span: Any, headers: Any, setter: Setter | None = None, encoding: str = 'text') -> None:
    """Writes `span`'s ``sw8`` and ``sw8-correlation`` into `headers`: through `setter`, into a
    mapping (``headers[name] = value``), or into a list of pairs (an existing pair of the same
    name, in any case, is replaced). `encoding` says how pairs and mapping values are written:
    ``'text'`` (str, str), ``'bytes'`` (bytes, bytes) or ``'bytes-values'`` (str, bytes, as
    Kafka clients want). Nothing is written for a no-op span inside `untraced`.
    """
    if _untraced.get() and span.is_noop:  # the ContextVar first: a C call, usually False
        return
    for name, value in span.inject_headers():
        if not value:
            continue  # an empty correlation header is not sent
        key: Any = name
        data: Any = value
        if encoding == 'bytes':
            key, data = name.encode('latin-1'), value.encode('latin-1')
        elif encoding == 'bytes-values':
            data = value.encode('latin-1')
        if setter is not None:
            setter(headers, key, data)
        elif isinstance(headers, list):
            _put_pair(headers, name, key, data)
        else:
            headers[key] = data


def _put_pair(headers: list, name: str, key: Any, data: Any) -> None:
    for index, item in enumerate(headers):
        try:
            existing = as_text(item[0])
        except Exception:
            continue
        if existing.lower() == name:
            headers[index] = (key, data)
            return
    headers.append((key, data))


# --- entry spans ---------------------------------------------------------------------------

#: ``EntryScope(span, component, peer=None, tags=(), layer=Layer.Http)`` (native): starts an
#: entry span and then records what an entry span clears when it starts (component, layer,
#: peer, the ``(key, value)`` tags). ``with scope as span:`` gives the span itself;
#: ``scope.start()`` / ``scope.finish(error=None)`` do the same for code that cannot use
#: ``with`` (a request that starts in one callback and ends in another). Neither raises.
EntryScope = _core.EntryScope


def noop_scope() -> Any:
    """What an entry helper returns when it fails: a scope around a `NoopSpan`."""
    return EntryScope(noop_span(), 0)
