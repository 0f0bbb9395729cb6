"""The trace follows work handed to other threads: `threading.Thread.start`,
`concurrent.futures.ThreadPoolExecutor.submit`, and through it `loop.run_in_executor` and
`asyncio.to_thread`.

Work started while a span is active runs, in its thread, inside a local span
``Thread/<function name>`` of a new segment that refers to the starting span with a
CrossThread ref: what upstream's ``@runnable`` records, without the decorator. Work
started outside any span is left as it is (one context-variable read per hand-off), and
so is a C function or asyncio's ``socket.getaddrinfo`` lookup, which open no span. Not in
upstream; on by default, switched off with ``plugin_threading_propagate_context=False``
(``SW_PLUGIN_THREADING_PROPAGATE_CONTEXT``) or by disabling the plugin
(``agent_disable_plugins=sw_threading``).

Work that carries the caller's context variables itself is recognised, so that it is
linked once, never twice:

- ``Context.run`` handed over directly (``submit(ctx.run, fn, ...)``, or
  ``functools.partial(ctx.run, fn, ...)``, which is what `asyncio.to_thread` submits): `fn`
  runs in the copied context inside the ``Thread/<fn>`` span of a new segment (without this,
  the copied active span would make the worker's spans children in the caller's segment,
  written from two threads).
- A hand-off that keeps a ``Context.run`` among its arguments and runs it later, or that
  is known to enter the caller's context itself (asgiref's ``sync_to_async`` submits
  ``partial(SyncToAsync.thread_handler, ...)``, which enters a ``copy_context()``), is left as
  it is: the copied context makes the work part of the caller's segment, where the caller's
  framework expects it (Django's ASGI handler records the view's exception on its entry
  span). Wrapping it too gave a second segment holding only ``Thread/thread_handler``.

The worker's segment is named as any other, by the rule upstream and SkyWalking's Java
agent share: its first entry span, else its first span, ``Thread/<fn>``. A call it makes
downstream sends ``Thread/<fn>`` as the caller's endpoint, as the Java agent does from a
continued thread; OAP (9.0+) turns the local span with its CrossThread ref into an endpoint
of the service reached from the request's endpoint, so the endpoint graph reads
``/users -> Thread/post -> (provider) /users``. `@runnable` segments are named the same way.

Work started outside any span (a server's per-connection threads, a gunicorn or Celery
worker's pool, the loop's executor) is never touched. Threads that outlive the span that
happened to be active when they started are not wrapped either: the workers of executors
and pools (targets in `concurrent.futures`, `multiprocessing`, `asyncio`, anyio's worker
threads, which enter the caller's copied context for each call themselves), whose tasks are
wrapped one by one through ``submit`` instead, and the background threads that libraries
start lazily, often on a first call made inside a request (``_POOL_MODULES``: gRPC's
poller, pymongo's monitors, kafka-python's sender, Sentry's transport, logging's
QueueListener, ...). Any other thread started inside a span keeps its segment open until
it ends. `@runnable` still continues the trace in any thread. The agent itself starts no
Python threads (its reporter is a native thread).
"""

from __future__ import annotations

import functools
import threading
from contextvars import Context
from types import BuiltinFunctionType
from typing import Any

from skywalking import Component, config
from skywalking._core import SpanContext, capture_active
from skywalking.plugins._common import failed
from skywalking.plugins._patch import patch

link_vector = ['https://docs.python.org/3/library/threading.html']
component = Component.General
support_matrix = {'threading': {'>=3.10': ['*']}}
note = 'Continues the trace in threads and executors (not in upstream).'
hooked_modules = ['threading']

#: Packages whose thread targets are pool workers or library background threads, which
#: libraries start lazily, often on the first call made inside a request: wrapped, such a
#: thread would hold a segment open (and gather its spans) until the process ends.
_POOL_MODULES = (
    'concurrent.futures',  # ThreadPoolExecutor's workers (their tasks are wrapped in submit)
    'multiprocessing',  # Pool's handler threads, Queue's feeder thread (first put)
    'asyncio',
    'anyio',  # worker threads that enter each call's copied context themselves
    'grpc',  # the grpc.aio poller (first channel)
    'logging',  # logging.handlers.QueueListener
    'kafka',  # kafka-python's producer sender, consumer heartbeat
    'pymongo',  # topology monitors and the pool's maintenance threads (first operation)
    'redis',  # PubSub.run_in_thread's endless listener
    'psycopg_pool',  # pool workers and scheduler
    'celery',
    'kombu',
    'billiard',
    'gunicorn',
    'uvicorn',
    'sentry_sdk',  # the event transport's background worker (first event)
    'loguru',  # the enqueue=True writer
    'apscheduler',
    'pika',  # the address resolver's Timer (getaddrinfo in a thread, on every connect)
)


def _in_packages(module: str, packages: tuple[str, ...]) -> bool:
    """True when `module` is one of `packages` or inside one (`kafka.producer`, not `kafkaesque`)."""
    return any(module == p or module.startswith(p + '.') for p in packages)


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


def _context_run(fn: Any) -> bool:
    """True for a bound ``Context.run``."""
    return isinstance(getattr(fn, '__self__', None), Context)


#: Modules whose hand-offs enter the caller's copied context themselves, in code the pool
#: only sees as a bound method (asgiref 3.13 wraps ``context.run`` in a closure).
_CARRIER_MODULES = ('asgiref.sync',)


def _carries_context(fn: Any, args: tuple) -> bool:
    """True when `fn` enters the caller's context itself in the worker: a partial or call
    with a ``Context.run`` among its arguments, or a method of a known carrier (asgiref's
    ``SyncToAsync.thread_handler``)."""
    inner = fn.func if isinstance(fn, functools.partial) else fn
    owner = getattr(inner, '__self__', None)
    if owner is not None and type(owner).__module__.startswith(_CARRIER_MODULES):
        return True
    if isinstance(fn, functools.partial) and any(_context_run(a) for a in fn.args):
        return True
    return any(_context_run(a) for a in args)


def _continuing(snapshot: Any, fn: Any) -> Any:
    """`fn` that, called in another thread, continues the trace of `snapshot`."""
    op = 'Thread/' + _name(fn)

    def continued(*args: Any, **kwargs: Any) -> Any:
        return _run_continued(snapshot, op, fn, args, kwargs)

    return continued


def _submitted(snapshot: Any, fn: Any, args: tuple) -> tuple[Any, tuple]:
    """What `submit` hands the pool instead of ``fn(*args)``: the same call, continuing the
    trace of `snapshot` once, in the worker's own context or in the one the work carries."""
    if _context_run(fn):  # submit(ctx.run, target, ...): target runs in ctx, continued
        if args:
            return fn, (_continuing(snapshot, args[0]), *args[1:])
        return fn, args
    if isinstance(fn, functools.partial) and _context_run(fn.func):  # asyncio.to_thread
        if fn.args:
            target = _continuing(snapshot, fn.args[0])
            return functools.partial(fn.func, target, *fn.args[1:], **fn.keywords), args
        return fn, args
    if _carries_context(fn, args):  # enters the caller's context itself (asgiref)
        return fn, args
    target = getattr(fn, 'func', fn)
    if isinstance(target, BuiltinFunctionType) or getattr(target, '__module__', None) == 'socket':
        # C functions and asyncio's ``socket.getaddrinfo`` lookups open no span: a segment
        # would hold only ``Thread/getaddrinfo``.
        return fn, args
    return _continuing(snapshot, fn), args


def _capture() -> Any:
    try:
        return capture_active()
    except Exception:
        failed('sw_threading')
        return None


def _wrap_submit(submit: Any) -> Any:
    def _sw_submit(this, fn, /, *args, **kwargs):
        snapshot = _capture()
        if snapshot is None:
            return submit(this, fn, *args, **kwargs)
        fn, args = _submitted(snapshot, fn, args)
        return submit(this, fn, *args, **kwargs)

    return _sw_submit


def _wrap_start(start: Any) -> Any:
    from skywalking.decorators import _RunnableWrapper

    def _sw_start(this):
        snapshot = _capture()
        if snapshot is not None:
            target = getattr(this, '_target', None)
            if target is None and isinstance(this, threading.Timer):
                target = this.function  # named and placed by what it runs, not `Timer`
            # A Thread subclass without a target (anyio's WorkerThread) is named by its class.
            module = getattr(target if target is not None else type(this), '__module__', None) or ''
            args = tuple(getattr(this, '_args', ()))
            if _context_run(target) and args:  # Thread(target=ctx.run, args=(fn, ...))
                this._args = (_continuing(snapshot, args[0]), *args[1:])
            elif (
                not _in_packages(module, _POOL_MODULES)
                and not _carries_context(target, args)
                and not isinstance(target, _RunnableWrapper)
            ):
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
    from concurrent.futures import ThreadPoolExecutor

    patch(threading.Thread, 'start', _wrap_start)
    patch(ThreadPoolExecutor, 'submit', _wrap_submit)
