"""kafka-python: an exit span per sent record, entry spans where records are consumed.

``KafkaProducer.send`` writes ``sw8`` / ``sw8-correlation`` into the record's headers (a new
list; the caller's list is not changed). The agent's own topics (Kafka reporter) are not
traced.

Consuming, two shapes:

* iterating the consumer (``for record in consumer``): each record gets an entry span that
  continues its producer's trace and **stays open while the application handles the record**,
  until it asks for the next one (or closes the consumer). Spans the handling opens (a
  database call, an HTTP request) are children of it. Upstream closes its span before the
  application sees the record.
* ``poll()``: one entry span per non-empty poll, closed when ``poll`` returns (the records are
  handed over as a batch; there is no point where their handling ends), with a
  cross-process ref to each record's producer, as upstream.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from skywalking import Component, config
from skywalking.plugins._common import failed
from skywalking.plugins._mq import continue_trace, mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://kafka-python.readthedocs.io']
component = [Component.KafkaProducer, Component.KafkaConsumer]
support_matrix = {'kafka-python': {'>=3.10': ['2.0', '2.1', '2.2', '2.3', '3.0']}}
note = ''
hooked_modules = ['kafka']
version_rule = {'name': 'kafka-python', 'rules': ['>=2.0']}

_PRODUCER = int(Component.KafkaProducer)
_CONSUMER = int(Component.KafkaConsumer)
#: True while the consumer's iterator polls: the record's own span covers it.
_iterating: ContextVar[bool] = ContextVar('sw_kafka_iterating', default=False)


def _brokers(client: Any) -> str:
    servers = client.config.get('bootstrap_servers') or ''
    return servers if isinstance(servers, str) else ';'.join(servers)


def _own_topic(topic: str) -> bool:
    """A topic the agent's Kafka reporter writes to."""
    if config.agent_protocol != 'kafka':
        return False
    own = (config.kafka_topic_segment, config.kafka_topic_log, config.kafka_topic_management, config.kafka_topic_meter)
    namespace = config.kafka_namespace
    return topic in own or (bool(namespace) and topic in {f'{namespace}-{name}' for name in own})


def _producer_brokers(producer: Any) -> str:
    """`_brokers` of a producer, made on its first send and kept on it (its configuration
    does not change after it is made)."""
    brokers = producer.__dict__.get('_sw_brokers')
    if brokers is None:
        brokers = producer.__dict__['_sw_brokers'] = _brokers(producer)
    return brokers


def _wrap_send(send):
    def _sw_send(this, topic, value=None, key=None, headers=None, partition=None, timestamp_ms=None):
        if config.agent_protocol == 'kafka' and _own_topic(topic):
            return send(
                this, topic, value=value, key=key, headers=headers, partition=partition, timestamp_ms=timestamp_ms
            )
        brokers = _producer_brokers(this)
        headers = list(headers or [])
        span = mq_producer_span(
            f'Kafka/{topic}/Producer', brokers, _PRODUCER, broker=brokers, topic=topic, headers=headers,
            encoding='bytes-values',
        )  # fmt: skip
        with span:
            return send(
                this, topic, value=value, key=key, headers=headers, partition=partition, timestamp_ms=timestamp_ms
            )

    return _sw_send


def _consumer_op(consumer: Any, topics: str) -> str:
    return f'Kafka/{topics}/Consumer/{consumer.config.get("group_id") or ""}'


def _subscribed(consumer: Any) -> str:
    subscription = consumer._subscription
    names = subscription.subscription or [tp.topic for tp in (subscription._user_assignment or ())]
    return ';'.join(sorted(names))


def _wrap_poll(poll):
    def _sw_poll(this, *args, **kwargs):
        result = poll(this, *args, **kwargs)
        if not result or _iterating.get():
            return result
        try:
            topics = _subscribed(this)
            brokers = _brokers(this)
            records = [record for batch in result.values() for record in batch]
            scope = mq_consumer_span(
                _consumer_op(this, topics), '', _CONSUMER, broker=brokers, topic=topics, headers=records[0].headers
            )
            with scope as span:
                for record in records[1:]:
                    continue_trace(span, record.headers)
        except Exception:
            failed('kafka poll span')
        return result

    return _sw_poll


def _finish_record_span(consumer: Any) -> None:
    scope = consumer.__dict__.pop('_sw_record_scope', None)
    if scope is not None:
        scope.finish()


def _wrap_next(next_record):
    def _sw_next(this):
        _finish_record_span(this)
        token = _iterating.set(True)
        try:
            record = next_record(this)
        finally:
            _iterating.reset(token)
        try:
            brokers = _brokers(this)
            scope = mq_consumer_span(
                _consumer_op(this, record.topic), '', _CONSUMER, broker=brokers, topic=record.topic,
                headers=record.headers,
            )  # fmt: skip
            scope.start()
            this._sw_record_scope = scope
        except Exception:
            failed('kafka record span')
        return record

    return _sw_next


def _wrap_close(close):
    def _sw_close(this, *args, **kwargs):
        _finish_record_span(this)
        return close(this, *args, **kwargs)

    return _sw_close


def install() -> None:
    from kafka import KafkaConsumer, KafkaProducer

    patch(KafkaProducer, 'send', _wrap_send)
    patch(KafkaConsumer, 'poll', _wrap_poll)
    patch(KafkaConsumer, '__next__', _wrap_next)
    patch(KafkaConsumer, 'close', _wrap_close)
