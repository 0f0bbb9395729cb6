"""aiokafka (not traced by upstream): spans named and tagged as kafka-python's.

``AIOKafkaProducer.send`` writes ``sw8`` / ``sw8-correlation`` into the record's headers (a
new list). A record returned by ``getone()`` or ``async for`` gets an entry span that stays
open while the application handles it, until it asks for the next record (or stops the
consumer); ``getmany()`` gets one entry span per non-empty batch, closed when it returns,
with a cross-process ref to each record's producer (kafka-python's ``poll()`` shape).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from skywalking import Component
from skywalking.plugins._common import failed
from skywalking.plugins._mq import continue_trace, mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://aiokafka.readthedocs.io']
component = [Component.KafkaProducer, Component.KafkaConsumer]
# 0.8 is the first release with wheels for Python 3.11 (0.7 predates 3.10 and 3.11).
support_matrix = {'aiokafka': {'>=3.10': ['0.8', '0.9', '0.10', '0.11', '0.12', '0.13', '0.14']}}
note = 'Not traced by apache-skywalking.'
hooked_modules = ['aiokafka']
version_rule = {'name': 'aiokafka', 'rules': ['>=0.8']}

_PRODUCER = int(Component.KafkaProducer)
_CONSUMER = int(Component.KafkaConsumer)
#: True inside ``__anext__``, which takes its record through ``getone()``: one span per record.
_iterating: ContextVar[bool] = ContextVar('sw_aiokafka_iterating', default=False)


def _brokers(owner: Any) -> str:
    """The bootstrap servers of a producer or consumer (kept by its client)."""
    try:
        client = getattr(owner, '_client', None) or getattr(owner, 'client', None)
        servers = getattr(client, '_bootstrap_servers', None) or ''
        return servers if isinstance(servers, str) else ';'.join(servers)
    except Exception:
        return '<unavailable>'


def _wrap_send(send):
    async def _sw_send(this, topic, value=None, key=None, partition=None, timestamp_ms=None, headers=None):
        from skywalking.plugins.sw_kafka import _own_topic

        if _own_topic(topic):
            return await send(this, topic, value, key, partition, timestamp_ms, headers)
        brokers = _brokers(this)
        headers = list(headers or [])
        span = mq_producer_span(
            f'Kafka/{topic}/Producer', brokers, _PRODUCER, broker=brokers, topic=topic, headers=headers,
            encoding='bytes-values',
        )  # fmt: skip
        with span:
            return await send(this, topic, value, key, partition, timestamp_ms, headers)

    return _sw_send


def _group(consumer: Any) -> str:
    return getattr(consumer, '_group_id', None) or ''


def _finish(consumer: Any) -> None:
    scope = consumer.__dict__.pop('_sw_record_scope', None)
    if scope is not None:
        scope.finish()


def _open_record_span(consumer: Any, record: Any) -> None:
    try:
        brokers = _brokers(consumer)
        scope = mq_consumer_span(
            f'Kafka/{record.topic}/Consumer/{_group(consumer)}', '', _CONSUMER, broker=brokers, topic=record.topic,
            headers=list(record.headers or ()),
        )  # fmt: skip
        scope.start()
        consumer._sw_record_scope = scope
    except Exception:
        failed('aiokafka record span')


def _wrap_getone(getone):
    async def _sw_getone(this, *partitions):
        if _iterating.get():
            return await getone(this, *partitions)
        _finish(this)
        record = await getone(this, *partitions)
        _open_record_span(this, record)
        return record

    return _sw_getone


def _wrap_anext(anext):
    async def _sw_anext(this):
        _finish(this)
        token = _iterating.set(True)
        try:
            record = await anext(this)
        finally:
            _iterating.reset(token)
        _open_record_span(this, record)
        return record

    return _sw_anext


def _wrap_getmany(getmany):
    async def _sw_getmany(this, *partitions, **kwargs):
        _finish(this)
        result = await getmany(this, *partitions, **kwargs)
        records = [record for batch in (result or {}).values() for record in batch]
        if records:
            try:
                topics = ';'.join(sorted({record.topic for record in records}))
                brokers = _brokers(this)
                scope = mq_consumer_span(
                    f'Kafka/{topics}/Consumer/{_group(this)}', '', _CONSUMER, broker=brokers, topic=topics,
                    headers=list(records[0].headers or ()),
                )  # fmt: skip
                with scope as span:
                    for record in records[1:]:
                        continue_trace(span, list(record.headers or ()))
            except Exception:
                failed('aiokafka batch span')
        return result

    return _sw_getmany


def _wrap_stop(stop):
    async def _sw_stop(this, *args, **kwargs):
        _finish(this)
        return await stop(this, *args, **kwargs)

    return _sw_stop


def install() -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    patch(AIOKafkaProducer, 'send', _wrap_send)
    patch(AIOKafkaConsumer, 'getone', _wrap_getone)
    patch(AIOKafkaConsumer, '__anext__', _wrap_anext)
    patch(AIOKafkaConsumer, 'getmany', _wrap_getmany)
    patch(AIOKafkaConsumer, 'stop', _wrap_stop)
