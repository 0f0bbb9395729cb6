"""amqp (py-amqp, the transport kombu and Celery use for RabbitMQ): an exit span per
published message, an entry span around each consumer callback.

``Channel.basic_publish`` (and ``_basic_publish``, which publisher-confirm mode calls) write
``sw8`` / ``sw8-correlation`` into the message's ``application_headers``. A publish made
inside another exit span (Celery sending a task through kombu) is not traced again: that span
already stands for the send and wrote the headers the consumer continues.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from skywalking import Component, Kind
from skywalking._core import get_context
from skywalking.plugins._common import failed, inside_untraced
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://pypi.org/project/amqp/']
component = [Component.RabbitmqProducer, Component.RabbitmqConsumer]
# amqp 2.6 (vine 1) uses inspect.formatargspec, which Python 3.11 removed.
support_matrix = {
    'amqp': {'>=3.11': ['5.0', '5.1', '5.2', '5.3', '5.4'], '>=3.10': ['2.6.1', '5.0', '5.1', '5.2', '5.3', '5.4']}
}
note = ''
hooked_modules = ['amqp']
version_rule = {'name': 'amqp', 'rules': ['>=2.6']}

_PRODUCER = int(Component.RabbitmqProducer)
_CONSUMER = int(Component.RabbitmqConsumer)
_EXIT = int(Kind.Exit)
#: Set while a publish is traced: the confirm path goes through both patched methods.
_publishing: ContextVar[bool] = ContextVar('sw_amqp_publishing', default=False)


def _peer(channel: Any) -> str:
    return str(getattr(channel.connection, 'host', None) or '<unavailable>')


def _message_headers(msg: Any) -> Any:
    properties = msg.properties
    headers = properties.get('application_headers')
    if headers is None:
        headers = properties['application_headers'] = {}
    return headers


def _inside_exit_span() -> bool:
    try:
        active = get_context().active_span
        return active is not None and active.kind == _EXIT
    except Exception:
        return False


def _wrap_publish(publish):
    def _sw_basic_publish(this, msg, exchange='', routing_key='', *args, **kwargs):
        # Inside another plugin's send (Celery's, kombu's) nothing is traced here: looked
        # at first, one context-variable read, before any span is made.
        if inside_untraced() or _publishing.get() or _inside_exit_span():
            return publish(this, msg, exchange, routing_key, *args, **kwargs)
        peer = _peer(this)
        try:
            headers = _message_headers(msg)
        except Exception:
            failed('amqp message headers')
            headers = None
        span = mq_producer_span(
            f'RabbitMQ/Topic/{exchange}/Queue/{routing_key}/Producer',
            peer,
            _PRODUCER,
            broker=peer,
            topic=exchange,
            queue=routing_key,
            headers=headers,
        )
        token = _publishing.set(True)
        try:
            with span:
                return publish(this, msg, exchange, routing_key, *args, **kwargs)
        finally:
            _publishing.reset(token)

    return _sw_basic_publish


def _traced(channel: Any, callback):
    if callback is None:
        return None

    def _sw_on_message(msg):
        try:
            info = getattr(msg, 'delivery_info', None) or {}
            exchange, routing_key = info.get('exchange', ''), info.get('routing_key', '')
            headers = (getattr(msg, 'properties', None) or {}).get('application_headers') or {}
        except Exception:
            failed('amqp delivery')
            return callback(msg)
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
            return callback(msg)

    return _sw_on_message


def _wrap_consume(consume):
    def _sw_basic_consume(
        this, queue='', consumer_tag='', no_local=False, no_ack=False, exclusive=False, nowait=False,
        callback=None, *args, **kwargs,
    ):  # fmt: skip
        return consume(
            this, queue, consumer_tag, no_local, no_ack, exclusive, nowait, _traced(this, callback), *args, **kwargs
        )

    return _sw_basic_consume


def install() -> None:
    from amqp import Channel

    patch(Channel, 'basic_publish', _wrap_publish)
    patch(Channel, '_basic_publish', _wrap_publish)
    patch(Channel, 'basic_consume', _wrap_consume)
