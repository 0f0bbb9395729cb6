"""Celery: an exit span where a task is sent, an entry span where a worker runs it.

`Celery.send_task` is where `delay`, `apply_async` and `send_task` meet: its exit span
(``celery/<task name>``) writes ``sw8`` / ``sw8-correlation`` into the message headers. A
task's function is wrapped when the app creates the task (`Celery._task_from_fun`); when it
runs in a worker, the headers come back on ``task.request`` and the entry span continues the
sender's trace. A task called directly (no ``origin`` in its request) gets a local span, as
upstream.

Celery's own broker traffic is not traced: the worker runs in `untraced` (kombu's polling,
acknowledgements, the unacked bookkeeping of the Redis transport, pidbox, heartbeats, events:
with the redis or amqp plugin on, each would otherwise be a segment of its own), and so does
the transport's work under the sender's span. What the application asked for is: the sending
span, the worker's span of a task (a segment of its own) and whatever the task calls.

Each pool works the same way: prefork children run with an agent of their own (restarted
after fork, instance ``<name>-child(<pid>)``), threads and solo run in the worker process.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from skywalking import Component, Layer, config
from skywalking._core import SpanContext, get_context
from skywalking.plugins._common import failed, inside_untraced, untraced
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://docs.celeryq.dev']
component = Component.Celery
support_matrix = {'celery': {'>=3.10': ['5.1', '5.2', '5.3', '5.4', '5.5', '5.6', '5.7']}}
note = "Celery's own broker traffic (polling, acknowledgements, heartbeats) is not traced."
hooked_modules = ['celery']
version_rule = {'name': 'celery', 'rules': ['>=5.1']}

_CELERY = int(component)
_MQ = int(Layer.MQ)
_DEFAULT_PORTS = {'amqp': 5672, 'amqps': 5671, 'pyamqp': 5672, 'redis': 6379, 'rediss': 6379, 'sqs': 443}


def _broker(app: Any) -> tuple[str, str]:
    """``(mq.broker, peer)`` of `app`: its broker URL without credentials, and host:port.

    Kept on the app after the first read, as Celery keeps its connection pool: reading
    ``app.conf.broker_url`` goes through a dozen calls of Celery's settings lookup, and
    parsing the URL costs as much again."""
    known = getattr(app, '_sw_broker', None)
    if known is not None:
        return known
    try:
        url = app.conf.broker_url or ''
        if isinstance(url, (list, tuple)):
            url = ';'.join(url)
        known = _parse_broker(url)
    except Exception:
        failed('celery broker url')
        return '', '???'
    try:
        app._sw_broker = known
    except Exception:
        pass  # an app that takes no attributes: read again next time
    return known


def _parse_broker(url: str) -> tuple[str, str]:
    first = url.split(';', 1)[0]
    parts = urlsplit(first)
    host = parts.hostname or 'localhost'
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    netloc = host if parts.port is None else f'{host}:{parts.port}'
    if ':' in host:
        netloc = f'[{host}]' if parts.port is None else f'[{host}]:{parts.port}'
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)) if parts.scheme else url
    return clean, f'{host}:{port}' if port else host


def _parameters(args: Any, kwargs: Any) -> str | None:
    length = config.plugin_celery_parameters_length
    if not length:
        return None
    return f'*{args}, **{kwargs}'[:length]


def _wrap_send_task(send_task):
    def _sw_send_task(this, name, args=None, kwargs=None, **options):
        broker, peer = _broker(this)
        headers = dict(options.get('headers') or {})
        span = mq_producer_span(f'celery/{name}', peer, _CELERY, broker=broker, headers=headers)
        parameters = _parameters(args, kwargs)
        if parameters is not None:
            span.set_tag('celery.parameters', parameters)
        options['headers'] = headers
        with span, untraced():  # the transport's calls are this send
            return send_task(this, name, args, kwargs, **options)

    return _sw_send_task


def _request_header(request: Any, name: str) -> Any:
    """A header the sender wrote: on the request itself (protocol 2 copies the message
    headers there) or in its ``headers`` (where some Celery versions keep custom ones)."""
    value = request.get(name)
    if value:
        return value
    nested = request.get('headers')
    if isinstance(nested, dict):
        return nested.get(name)
    return None


def _task_scope(task: Any, name: str, args: tuple, kwargs: dict) -> Any:
    op = f'celery/{name}'
    request = task.request_stack.top
    broker, _peer = _broker(task.app)
    origin = request.get('origin') if request is not None else None
    parameters = _parameters(args, kwargs)
    if origin:
        extra = (('celery.parameters', parameters),) if parameters is not None else ()
        return mq_consumer_span(
            op,
            origin.split('@', 1)[-1],
            _CELERY,
            broker=broker,
            headers=request,
            getter=_request_header,
            extra_tags=extra,
            own_segment=True,  # not under the worker's untraced housekeeping
        )
    span = get_context().new_local_span(op)
    if span.is_noop and inside_untraced():
        # A worker runs a message without an origin (task protocol 1) in its housekeeping.
        span = SpanContext().new_local_span(op)
    return _LocalScope(span, broker, parameters)


class _LocalScope:
    """A task run in-process (called directly, or eagerly): a local span with Celery's tags."""

    __slots__ = ('broker', 'parameters', 'span')

    def __init__(self, span: Any, broker: str, parameters: str | None):
        self.span = span
        self.broker = broker
        self.parameters = parameters

    def __enter__(self) -> Any:
        span = self.span.__enter__()
        try:
            span.layer = _MQ
            span.component = _CELERY
            span.set_tag('mq.broker', self.broker)
            if self.parameters is not None:
                span.set_tag('celery.parameters', self.parameters)
        except Exception:
            failed('celery local span')
        return span

    def __exit__(self, *exc: Any) -> bool:
        return self.span.__exit__(*exc)


def _wrap_task_from_fun(task_from_fun):
    def _sw_task_from_fun(this, fun, name=None, **options):
        name = name or this.gen_task_name(fun.__name__, fun.__module__)
        # Celery may register one function more than once (a pending task, then at finalize)
        # and compares the callables: the same function gets the same wrapper.
        wrapper = getattr(fun, '_sw_celery_task', None)
        if wrapper is None:
            wrapper = _task_wrapper(fun, name)
            try:
                fun._sw_celery_task = wrapper
            except (AttributeError, TypeError):
                pass
        task = task_from_fun(this, wrapper, name, **options)
        wrapper._sw_task = task
        return task

    return _sw_task_from_fun


def _task_wrapper(fun, name: str):
    @functools.wraps(fun)
    def _sw_task(*args, **kwargs):
        try:
            scope = _task_scope(_sw_task._sw_task, name, args, kwargs)
        except Exception:
            failed('celery task span')
            return fun(*args, **kwargs)
        with scope:
            return fun(*args, **kwargs)

    _sw_task._sw_task = None
    return _sw_task


def _wrap_worker_start(start):
    def _sw_start(this, *args, **kwargs):
        with untraced():
            return start(this, *args, **kwargs)

    return _sw_start


def install() -> None:
    from celery import Celery

    patch(Celery, 'send_task', _wrap_send_task)
    patch(Celery, '_task_from_fun', _wrap_task_from_fun)
    try:
        from celery.worker.worker import WorkController
    except ImportError:  # pragma: no cover - a Celery without its worker
        return
    patch(WorkController, 'start', _wrap_worker_start)
