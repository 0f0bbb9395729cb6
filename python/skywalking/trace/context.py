"""Tracing contexts, as upstream's `skywalking.trace.context`.

`get_context()` returns the context of the active span, or a new one. The active span
lives in a `contextvars.ContextVar`: it follows asyncio tasks and gevent greenlets, and
a new thread starts without one (use `@runnable` or `capture()`/`continued()`).
"""

from skywalking import _core

IllegalStateError = _core.IllegalStateError
SpanContext = _core.SpanContext
NoopContext = _core.NoopContext
get_context = _core.get_context

__all__ = ['IllegalStateError', 'NoopContext', 'SpanContext', 'get_context']
