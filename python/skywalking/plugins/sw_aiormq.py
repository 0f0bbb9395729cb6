"""aiormq (and aio-pika, which publishes and consumes through it): an exit span per published
message, an entry span around each consumer callback (awaited inside the span).

``Channel.basic_publish`` writes ``sw8`` / ``sw8-correlation`` into ``properties.headers``;
``Channel.basic_consume`` wraps the consumer callback, whose message carries them back.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from skywalking import Component
from skywalking.plugins._common import failed
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://pypi.org/project/aiormq/', 'https://aio-pika.readthedocs.io/']
component = [Component.RabbitmqProducer, Component.RabbitmqConsumer]
support_matrix = {
    'aiormq': {'>=3.10': ['6.3', '6.4', '6.5', '6.6', '6.7', '6.8', '6.9', '7.0', '7.1', '7.2']},
    'aio-pika': {'>=3.10': ['9.0', '9.5', '10.2']},
}
note = 'aio-pika is traced through aiormq (tested on aio-pika 9.0 and 10.2).'
hooked_modules = ['aiormq']
version_rule = {'name': 'aiormq', 'rules': ['>=6.0']}

_PRODUCER = int(Component.RabbitmqProducer)
_CONSUMER = int(Component.RabbitmqConsumer)


def _peer(channel: Any) -> str:
    try:
        url = channel.connection.url
        return f'{url.host}:{url.port}' if url.port else str(url.host)
    except Exception:
        return '<unavailable>'


def _properties_with_headers(properties: Any) -> tuple[Any, Any]:
    if properties is None:
        from pamqp import commands

        properties = commands.Basic.Properties(delivery_mode=1)
    else:
        properties = copy.copy(properties)
    headers = dict(properties.headers or {})
    properties.headers = headers
    return properties, headers


def _wrap_publish(publish):
    async def _sw_basic_publish(this, body, *, exchange='', routing_key='', properties=None, **kwargs):
        peer = _peer(this)
        headers = None
        try:
            properties, headers = _properties_with_headers(properties)
        except Exception:
            failed('aiormq publish headers')
        span = mq_producer_span(
            f'RabbitMQ/Topic/{exchange}/Queue/{routing_key}/Producer',
            peer,
            _PRODUCER,
            broker=peer,
            topic=exchange,
            queue=routing_key,
            headers=headers,
        )
        with span:
            return await publish(
                this, body, exchange=exchange, routing_key=routing_key, properties=properties, **kwargs
            )

    return _sw_basic_publish


def _traced(channel: Any, callback):
    async def _sw_on_message(message):
        try:
            delivery = message.delivery
            exchange, routing_key = delivery.exchange, delivery.routing_key
            headers = message.header.properties.headers or {}
        except Exception:
            failed('aiormq delivery')
            result = callback(message)
            return await result if inspect.isawaitable(result) else result
        peer = _peer(channel)
        with mq_consumer_span(
            f'RabbitMQ/Topic/{exchange}/Queue/{routing_key}/Consumer',
            peer,
            _CONSUMER,
            broker=peer,
            topic=exchange,
            queue=routing_key,
            headers=headers,
        ):
            result = callback(message)
            return await result if inspect.isawaitable(result) else result

    return _sw_on_message


def _wrap_consume(consume):
    async def _sw_basic_consume(this, queue, consumer_callback, *args, **kwargs):
        return await consume(this, queue, _traced(this, consumer_callback), *args, **kwargs)

    return _sw_basic_consume


def install() -> None:
    from aiormq import Channel

    patch(Channel, 'basic_publish', _wrap_publish)
    patch(Channel, 'basic_consume', _wrap_consume)
