"""pulsar-client: an exit span per sent message, an entry span per received one.

``Producer.send`` writes ``sw8`` / ``sw8-correlation`` into the message properties (a copy of
the caller's dict). A message returned by ``Consumer.receive`` gets an entry span that stays
open while the application handles it, until the next ``receive`` or ``close`` (upstream
closes it before the application sees the message). The peer and ``mq.broker`` are the
service URL of the client that made the producer or consumer (upstream keeps the URL of the
last client created in the process). Tags in upstream's order: ``mq.topic``, ``mq.broker``.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._common import failed
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://github.com/apache/pulsar-client-python']
component = [Component.PulsarProducer, Component.PulsarConsumer]
support_matrix = {
    'pulsar-client': {'>=3.10': ['3.3', '3.4', '3.5', '3.6', '3.7', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13']}
}
note = ''
hooked_modules = ['pulsar']
version_rule = {'name': 'pulsar-client', 'rules': ['>=3.0']}

_PRODUCER = int(Component.PulsarProducer)
_CONSUMER = int(Component.PulsarConsumer)


def _wrap_init(init):
    def _sw_init(this, service_url, *args, **kwargs):
        init(this, service_url, *args, **kwargs)
        this._sw_url = service_url

    return _sw_init


def _wrap_factory(factory):
    """``create_producer`` / ``subscribe``: the result remembers its client's service URL."""

    def _sw_factory(this, *args, **kwargs):
        made = factory(this, *args, **kwargs)
        try:
            made._sw_url = getattr(this, '_sw_url', '')
        except Exception:
            pass
        return made

    return _sw_factory


def _wrap_send(send):
    def _sw_send(this, content, properties=None, *args, **kwargs):
        peer = getattr(this, '_sw_url', '')
        try:
            topic = this.topic().split('/')[-1]
            properties = dict(properties or {})
        except Exception:
            failed('pulsar send')
            return send(this, content, properties, *args, **kwargs)
        span = mq_producer_span(f'Pulsar/Topic/{topic}/Producer', peer, _PRODUCER, topic=topic, headers=properties)
        span.set_tag('mq.broker', peer)
        with span:
            return send(this, content, properties, *args, **kwargs)

    return _sw_send


def _finish(consumer: Any) -> None:
    scope = consumer.__dict__.pop('_sw_scope', None)
    if scope is not None:
        scope.finish()


def _wrap_receive(receive):
    def _sw_receive(this, *args, **kwargs):
        _finish(this)
        message = receive(this, *args, **kwargs)
        try:
            if message is not None:
                topic = message.topic_name().split('/')[-1]
                peer = getattr(this, '_sw_url', '')
                # As upstream: mq.topic, then mq.broker, and no peer.
                scope = mq_consumer_span(
                    f'Pulsar/Topic/{topic}/Consumer',
                    None,
                    _CONSUMER,
                    topic=topic,
                    headers=message.properties(),
                    extra_tags=(('mq.broker', peer),),
                )
                scope.start()
                this._sw_scope = scope
        except Exception:
            failed('pulsar receive span')
        return message

    return _sw_receive


def _wrap_close(close):
    def _sw_close(this, *args, **kwargs):
        _finish(this)
        return close(this, *args, **kwargs)

    return _sw_close


def install() -> None:
    from pulsar import Client, Consumer, Producer

    patch(Client, '__init__', _wrap_init)
    patch(Client, 'create_producer', _wrap_factory)
    patch(Client, 'subscribe', _wrap_factory)
    patch(Producer, 'send', _wrap_send)
    patch(Consumer, 'receive', _wrap_receive)
    patch(Consumer, 'close', _wrap_close)
