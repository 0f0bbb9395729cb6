"""`@trace` and `@runnable`, as upstream's `skywalking.decorators`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable

from skywalking import Component, Layer
from skywalking.trace.context import get_context
from skywalking.trace.tags import Tag


def _decorate(span, layer: Layer, component: Component, tags: Iterable[Tag] | None) -> None:
    span.layer = layer
    span.component = component
    for tag in tags or ():
        span.tag(tag)


def trace(
    op: str | None = None,
    layer: Layer = Layer.Unknown,
    component: Component = Component.Unknown,
    tags: list[Tag] | None = None,
):
    """Wraps a function (sync or async) in a local span named `op` or the function's name."""

    def decorator(func: Callable):
        name = op or func.__name__

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                with get_context().new_local_span(name) as span:
                    _decorate(span, layer, component, tags)
                    return await func(*args, **kwargs)

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with get_context().new_local_span(name) as span:
                _decorate(span, layer, component, tags)
                return func(*args, **kwargs)

        return wrapper

    return decorator


class _RunnableWrapper:
    """A function that continues, in whatever thread runs it, the trace it was captured in."""

    def __init__(self, func: Callable, op: str, layer: Layer, component: Component, tags, snapshot) -> None:
        self._func = func
        self._op = op
        self._layer = layer
        self._component = component
        self._tags = tags
        self._snapshot = snapshot
        functools.update_wrapper(self, func)

    def __call__(self, *args, **kwargs):
        context = get_context()
        with context.new_local_span(self._op) as span:
            if self._snapshot is not None:
                context.continued(self._snapshot)
            _decorate(span, self._layer, self._component, self._tags)
            return self._func(*args, **kwargs)

    def continue_tracing(self) -> _RunnableWrapper:
        """A copy bound to the trace active now, for `Thread(target=wrapper.continue_tracing())`."""
        snapshot = get_context().capture()
        return _RunnableWrapper(self._func, self._op, self._layer, self._component, self._tags, snapshot)


def runnable(
    op: str | None = None,
    layer: Layer = Layer.Unknown,
    component: Component = Component.Unknown,
    tags: list[Tag] | None = None,
):
    """Marks a function that runs in another thread as part of the trace active where it
    was decorated (or, via `continue_tracing()`, where that was called)."""

    def decorator(func: Callable) -> _RunnableWrapper:
        snapshot = get_context().capture()
        return _RunnableWrapper(func, op or f'Thread/{func.__name__}', layer, component, tags, snapshot)

    return decorator
