"""Producer and consumer spans for messages.

::

    with mq_producer_span(f'Kafka/{topic}/Producer', brokers, Component.KafkaProducer,
                          broker=brokers, topic=topic, headers=headers, encoding='bytes-values'):
        send(topic, value, headers=headers)

    with mq_consumer_span(f'RabbitMQ/Topic/{exchange}/Queue/{key}/Consumer', peer,
                          Component.RabbitmqConsumer, broker=peer, topic=exchange, queue=key,
                          headers=properties.headers):
        callback(...)

The producer's exit span writes ``sw8`` and ``sw8-correlation`` into the message headers
(any shape, see `skywalking.plugins._common.inject`); the consumer's entry span reads them
back (`skywalking.plugins._common.read_trace_headers`), so that both are one trace. Layer MQ,
tags ``mq.broker``, ``mq.topic``, ``mq.queue`` (each when given).
"""

from __future__ import annotations

from typing import Any

from skywalking import Layer
from skywalking._core import SpanContext, get_context, tag_exit_span
from skywalking.plugins._common import (
    EntryScope,
    Getter,
    Setter,
    failed,
    inject,
    noop_scope,
    noop_span,
    read_trace_headers,
)

_MQ = int(Layer.MQ)


def _mq_tags(broker: Any, topic: Any, queue: Any) -> tuple:
    tags: tuple = ()
    if broker is not None:
        tags += (('mq.broker', str(broker)),)
    if topic is not None:
        tags += (('mq.topic', str(topic)),)
    if queue is not None:
        tags += (('mq.queue', str(queue)),)
    return tags


def mq_producer_span(
    op: str,
    peer: str,
    component: int,
    *,
    broker: Any = None,
    topic: Any = None,
    queue: Any = None,
    headers: Any = None,
    setter: Setter | None = None,
    encoding: str = 'text',
) -> Any:
    """A message's producer (exit) span, not started; the trace headers are written into
    `headers` (or through `setter`) now, when either is given."""
    try:
        span = get_context().new_exit_span(op, peer, component)
        # layer and tags in one native call: (key, value, key, value, ...)
        tags: tuple = ()
        if broker is not None:
            tags = ('mq.broker', str(broker))
        if topic is not None:
            tags += ('mq.topic', str(topic))
        if queue is not None:
            tags += ('mq.queue', str(queue))
        tag_exit_span(span, _MQ, tags)
        if headers is not None or setter is not None:
            inject(span, headers, setter, encoding)
        return span
    except Exception:
        failed('mq_producer_span')
        return noop_span()


def mq_consumer_span(
    op: str,
    peer: str | None,
    component: int,
    *,
    broker: Any = None,
    topic: Any = None,
    queue: Any = None,
    headers: Any = None,
    getter: Getter | None = None,
    extra_tags: tuple = (),
    own_segment: bool = False,
) -> EntryScope:
    """A message's consumer (entry) span, continuing the producer's trace from `headers`;
    an `EntryScope` (``with ... as span``), since an entry span records its tags after it
    starts. `extra_tags` (``(key, value)`` pairs) follow the MQ tags. With `own_segment`, the
    span starts a segment of its own whatever is active (a task a worker runs inside its
    `untraced` housekeeping); otherwise it joins the active span's context, as any span."""
    try:
        sw8, correlation = read_trace_headers(headers, getter)
        context = SpanContext() if own_segment else get_context()
        span = context.new_entry_span(op, None, None, sw8=sw8, correlation=correlation)
        return EntryScope(span, component, peer, _mq_tags(broker, topic, queue) + tuple(extra_tags), _MQ)
    except Exception:
        failed('mq_consumer_span')
        return noop_scope()


def continue_trace(span: Any, headers: Any, getter: Getter | None = None) -> None:
    """Adds the trace of one more message to a running consumer span (a poll that returns
    several messages: upstream's Kafka consumer), as a cross-process ref."""
    try:
        sw8, correlation = read_trace_headers(headers, getter)
        if sw8:
            from skywalking.trace.carrier import _from_headers

            span.extract(_from_headers(sw8, correlation or ''))
    except Exception:
        failed('continue_trace')
