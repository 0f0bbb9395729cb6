"""The trace follows work handed to other threads: `threading.Thread.start`,
`concurrent.futures.ThreadPoolExecutor.submit`, and through it `loop.run_in_executor`.
`asyncio.to_thread` (and any ``submit(context.run, ...)``) hands the caller's context
variables to the worker itself: its spans join the caller's segment, no wrapping needed.

Work started while a span is active runs, in its thread, inside a local span
``Thread/<function name>`` of a new segment that refers to the starting span with a
CrossThread ref: what upstream's ``@runnable`` records, without the decorator. Work
started outside any span is left as it is. Not in upstream; switched off with
``plugin_threading_propagate_context=False`` (``SW_PLUGIN_THREADING_PROPAGATE_CONTEXT``)
or by disabling the plugin (``agent_disable_plugins=sw_threading``).

Threads that outlive the span that happened to be active when they started are not
wrapped: the workers of executors and pools (targets in `concurrent.futures`,
`multiprocessing`, `asyncio`), whose tasks are wrapped one by one through ``submit``
instead, and libraries' background threads whose target is known (gRPC's poller, started
with the first `grpc.aio` channel). Any other thread started inside a span keeps its
segment open until it ends. `@runnable` still continues the trace in any thread.
"""

from __future__ import annotations

import functools
from contextvars import Context
from typing import Any

from skywalking import Component, config
from skywalking._core import SpanContext, get_context
from skywalking.plugins._common import failed
from skywalking.plugins._patch import patch

link_vector = ['https://docs.python.org/3/library/threading.html']
component = Component.General
support_matrix = {'threading': {'>=3.10': ['*']}}
note = 'Continues the trace in threads and executors (not in upstream).'
hooked_modules = ['threading']

#: Modules whose thread targets are pool workers or library background threads.
_POOL_MODULES = ('concurrent.futures', 'multiprocessing', 'asyncio', 'grpc')


def _name(fn: Any) -> str:
    fn = getattr(fn, 'func', fn)  # functools.partial
    return getattr(fn, '__name__', None) or type(fn).__name__


def _run_continued(snapshot: Any, op: str, fn: Any, args: tuple, kwargs: dict) -> Any:
    """Calls `fn` inside a local span `op` of a new segment that refers to `snapshot`."""
    try:
        context = SpanContext()
        span = context.new_local_span(op)
        span.start()
        context.continued(snapshot)
    except Exception:
        failed('sw_threading')
        return fn(*args, **kwargs)
    try:
        result = fn(*args, **kwargs)
    except BaseException as error:
        span.__exit__(type(error), error, error.__traceback__)
        raise
    span.__exit__(None, None, None)
    return result


def _continuing(snapshot: Any, fn: Any) -> Any:
    """`fn` that, called in another thread, continues the trace of `snapshot`.

    A ``partial(context.run, func, ...)`` (how `asyncio.to_thread` hands over the caller's
    context variables) is left as it is: the caller's active span travels with the copied
    context, so the worker's spans are children in the caller's own segment, as they were
    before this plugin existed (and as the web scenarios' expected data show).
    """
    if isinstance(fn, functools.partial) and isinstance(getattr(fn.func, '__self__', None), Context):
        return fn
    op = 'Thread/' + _name(fn)

    def continued(*args: Any, **kwargs: Any) -> Any:
        return _run_continued(snapshot, op, fn, args, kwargs)

    return continued


def _capture() -> Any:
    try:
        return get_context().capture()
    except Exception:
        failed('sw_threading')
        return None


def _wrap_submit(submit: Any) -> Any:
    def _sw_submit(this, fn, /, *args, **kwargs):
        snapshot = _capture()
        if snapshot is None:
            return submit(this, fn, *args, **kwargs)
        return submit(this, _continuing(snapshot, fn), *args, **kwargs)

    return _sw_submit


def _wrap_start(start: Any) -> Any:
    from skywalking.decorators import _RunnableWrapper

    def _sw_start(this):
        snapshot = _capture()
        if snapshot is not None:
            target = getattr(this, '_target', None)
            module = getattr(target, '__module__', None) or ''
            if not module.startswith(_POOL_MODULES) and not isinstance(target, _RunnableWrapper):
                op = 'Thread/' + (_name(target) if target is not None else type(this).__name__)
                run = this.run

                def _sw_run() -> Any:
                    return _run_continued(snapshot, op, run, (), {})

                this.run = _sw_run
        return start(this)

    return _sw_start


def install() -> None:
    if not config.plugin_threading_propagate_context:
        return
    import threading
    from concurrent.futures import ThreadPoolExecutor

    patch(threading.Thread, 'start', _wrap_start)
    patch(ThreadPoolExecutor, 'submit', _wrap_submit)
