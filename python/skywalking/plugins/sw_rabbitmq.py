"""pika (RabbitMQ): an exit span per published message, an entry span per consumed one.

Publishing goes through `pika.channel.Channel.basic_publish` under every adapter (the
blocking channel delegates to it): its span writes ``sw8`` / ``sw8-correlation`` into the
message's headers (in a copy of the properties: the caller's object is left as it was).
Consuming: the ``on_message_callback`` given to ``basic_consume`` runs inside the entry span,
for the blocking channel and for the asynchronous adapters alike; a message taken with
``basic_get`` or the ``consume()`` generator gets an entry span when it arrives (there is no
callback to cover), as upstream.
"""

from __future__ import annotations

import copy
from typing import Any

from skywalking import Component
from skywalking.plugins._common import failed
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://pika.readthedocs.io']
component = [Component.RabbitmqProducer, Component.RabbitmqConsumer]
support_matrix = {'pika': {'>=3.10': ['1.2', '1.3', '1.4']}}
note = ''
hooked_modules = ['pika']
version_rule = {'name': 'pika', 'rules': ['>=1.0']}

_PRODUCER = int(Component.RabbitmqProducer)
_CONSUMER = int(Component.RabbitmqConsumer)


def _peer(connection: Any) -> str:
    """host:port of a pika connection (the blocking one keeps its parameters on ``_impl``)."""
    try:
        params = getattr(connection, 'params', None) or getattr(getattr(connection, '_impl', None), 'params', None)
        return f'{params.host}:{params.port}' if params is not None else '<unavailable>'
    except Exception:
        return '<unavailable>'


def _op(exchange: Any, routing_key: Any, side: str) -> str:
    return f'RabbitMQ/Topic/{exchange}/Queue/{routing_key}/{side}'


def _channel_peer(channel: Any) -> str:
    """`_peer` of a channel's connection, made on its first publish and kept on the channel
    (a channel never moves to another connection)."""
    peer = channel.__dict__.get('_sw_peer')
    if peer is None:
        peer = channel.__dict__['_sw_peer'] = _peer(channel.connection)
    return peer


def _copy_properties(properties: Any) -> Any:
    """A shallow copy of `properties`, as `copy.copy` makes it, without its generic machinery
    (a quarter of the cost) for pika's own `BasicProperties`, whose state is its `__dict__`."""
    if type(properties) is not _basic_properties[0]:
        return copy.copy(properties)
    clone = object.__new__(_basic_properties[0])
    clone.__dict__.update(properties.__dict__)
    return clone


#: pika.BasicProperties, set by install() (pika is imported by then)
_basic_properties: list[Any] = [None]


def _wrap_basic_publish(basic_publish):
    def _sw_basic_publish(this, exchange, routing_key, body, properties=None, mandatory=False):
        peer = _channel_peer(this)
        try:
            properties = _basic_properties[0]() if properties is None else _copy_properties(properties)
            headers = dict(properties.headers or {})
        except Exception:
            failed('pika publish headers')
            return basic_publish(this, exchange, routing_key, body, properties=properties, mandatory=mandatory)
        span = mq_producer_span(
            _op(exchange, routing_key, 'Producer'),
            peer,
            _PRODUCER,
            broker=peer,
            topic=exchange,
            queue=routing_key,
            headers=headers,
        )
        properties.headers = headers
        with span:
            return basic_publish(this, exchange, routing_key, body, properties=properties, mandatory=mandatory)

    return _sw_basic_publish


def _consumer_scope(channel: Any, method: Any, properties: Any) -> Any:
    peer = _peer(channel.connection)
    exchange, routing_key = method.exchange, method.routing_key
    return mq_consumer_span(
        _op(exchange, routing_key, 'Consumer'),
        peer,
        _CONSUMER,
        broker=peer,
        topic=exchange,
        queue=routing_key,
        headers=getattr(properties, 'headers', None) or {},
    )


def _traced_callback(callback):
    if callback is None or getattr(callback, '_sw_traced', False):
        return callback

    def _sw_on_message(channel, method, properties, body):
        with _consumer_scope(channel, method, properties):
            return callback(channel, method, properties, body)

    _sw_on_message._sw_traced = True
    return _sw_on_message


def _wrap_blocking_basic_consume(basic_consume):
    def _sw_basic_consume(this, queue, on_message_callback, *args, **kwargs):
        return basic_consume(this, queue, _traced_callback(on_message_callback), *args, **kwargs)

    return _sw_basic_consume


def _wrap_basic_consume(basic_consume):
    from pika.adapters.blocking_connection import BlockingChannel

    def _sw_basic_consume(this, queue, on_message_callback, *args, **kwargs):
        # The blocking channel hands its own dispatcher here and calls the user's callback
        # later, from its own (traced) basic_consume: only other adapters are wrapped here.
        if not isinstance(getattr(on_message_callback, '__self__', None), BlockingChannel):
            on_message_callback = _traced_callback(on_message_callback)
        return basic_consume(this, queue, on_message_callback, *args, **kwargs)

    return _sw_basic_consume


def _arrived(channel: Any, method: Any, properties: Any) -> None:
    with _consumer_scope(channel, method, properties):
        pass


def _wrap_basic_get(basic_get):
    def _sw_basic_get(this, queue, *args, **kwargs):
        method, properties, body = basic_get(this, queue, *args, **kwargs)
        if method is not None:
            _arrived(this, method, properties)
        return method, properties, body

    return _sw_basic_get


def _wrap_consume(consume):
    def _sw_consume(this, queue, *args, **kwargs):
        for method, properties, body in consume(this, queue, *args, **kwargs):
            if method is not None:
                _arrived(this, method, properties)
            yield method, properties, body

    return _sw_consume


def install() -> None:
    from pika import BasicProperties
    from pika.adapters.blocking_connection import BlockingChannel
    from pika.channel import Channel

    _basic_properties[0] = BasicProperties
    patch(Channel, 'basic_publish', _wrap_basic_publish)
    patch(Channel, 'basic_consume', _wrap_basic_consume)
    patch(BlockingChannel, 'basic_consume', _wrap_blocking_basic_consume)
    patch(BlockingChannel, 'basic_get', _wrap_basic_get)
    patch(BlockingChannel, 'consume', _wrap_consume)
