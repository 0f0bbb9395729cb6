"""confluent-kafka: an exit span per produced message, an entry span per consumed one.

`confluent_kafka.Producer` and `Consumer` are C types whose methods cannot be replaced, so the
module's names are replaced by subclasses (as upstream replaces them with proxies; code that
imported the names before the agent keeps the untraced classes). ``produce`` writes ``sw8`` /
``sw8-correlation`` into the message headers. A message returned by ``poll()`` gets an entry
span that stays open while the application handles it, until the next ``poll``, ``consume``
or ``close`` (upstream closes it before the application sees the message); each message of a
``consume()`` batch gets an entry span closed at once, as upstream.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component
from skywalking.plugins._common import as_text, failed
from skywalking.plugins._mq import mq_consumer_span, mq_producer_span
from skywalking.plugins._patch import patch

link_vector = ['https://www.confluent.io/']
component = [Component.KafkaProducer, Component.KafkaConsumer]
# 1.x has no wheels for Python 3.11+ (it would need librdkafka to build).
support_matrix = {
    'confluent-kafka': {
        '>=3.11': ['2.0', '2.4', '2.8', '2.12', '2.16'],
        '>=3.10': ['1.8.2', '2.0', '2.4', '2.8', '2.12', '2.16'],
    }
}
note = ''
hooked_modules = ['confluent_kafka']
version_rule = {'name': 'confluent-kafka', 'rules': ['>=1.5']}

_PRODUCER = int(Component.KafkaProducer)
_CONSUMER = int(Component.KafkaConsumer)


def _setting(args: tuple, kwargs: dict, name: str, default: str) -> str:
    value = kwargs.get(name)
    if value is None and args and isinstance(args[0], dict):
        value = args[0].get(name)
    if value is None:
        return default
    return value if isinstance(value, str) else ';'.join(value)


def _key_text(key: Any) -> str | None:
    return None if key is None else as_text(key)


def _make_producer(base):
    class Producer(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._sw_peer = _setting(args, kwargs, 'bootstrap.servers', '<unavailable>')

        def produce(self, topic, *args, **kwargs):
            try:
                key = _key_text(args[1] if len(args) >= 2 else kwargs.get('key'))
                given = args[6] if len(args) >= 7 else kwargs.get('headers')
                headers = list(given.items()) if isinstance(given, dict) else list(given or [])
            except Exception:
                failed('confluent_kafka produce')
                return super().produce(topic, *args, **kwargs)
            peer = getattr(self, '_sw_peer', '<unavailable>')
            span = mq_producer_span(
                f'Kafka/{topic}/{key or ""}/Producer', peer, _PRODUCER, broker=peer, topic=topic, queue=key,
                headers=headers, encoding='bytes-values',
            )  # fmt: skip
            if len(args) >= 7:
                args = (*args[:6], headers, *args[7:])
            else:
                kwargs['headers'] = headers
            with span:
                return super().produce(topic, *args, **kwargs)

    Producer.__qualname__ = Producer.__name__ = base.__name__
    Producer.__module__ = base.__module__
    return Producer


def _make_consumer(base):
    class Consumer(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._sw_peer = _setting(args, kwargs, 'bootstrap.servers', '<unavailable>')
            self._sw_group = _setting(args, kwargs, 'group.id', '<no group ID>')
            self._sw_scope = None

        def _sw_scope_of(self, message):
            topic = message.topic()
            key = _key_text(message.key())
            return mq_consumer_span(
                f'Kafka/{topic or ""}/{key or ""}/Consumer/{self._sw_group}', '', _CONSUMER, broker=self._sw_peer,
                topic=topic, queue=key, headers=list(message.headers() or ()),
            )  # fmt: skip

        def _sw_finish(self):
            scope, self._sw_scope = getattr(self, '_sw_scope', None), None
            if scope is not None:
                scope.finish()

        def poll(self, *args, **kwargs):
            self._sw_finish()
            message = super().poll(*args, **kwargs)
            try:
                if message is not None and not message.error():
                    scope = self._sw_scope_of(message)
                    scope.start()
                    self._sw_scope = scope
            except Exception:
                failed('confluent_kafka poll span')
            return message

        def consume(self, *args, **kwargs):
            self._sw_finish()
            messages = super().consume(*args, **kwargs)
            for message in messages:
                try:
                    if message is not None and not message.error():
                        with self._sw_scope_of(message):
                            pass
                except Exception:
                    failed('confluent_kafka consume span')
            return messages

        def close(self, *args, **kwargs):
            self._sw_finish()
            return super().close(*args, **kwargs)

    Consumer.__qualname__ = Consumer.__name__ = base.__name__
    Consumer.__module__ = base.__module__
    return Consumer


def install() -> None:
    import confluent_kafka

    patch(confluent_kafka, 'Producer', _make_producer)
    patch(confluent_kafka, 'Consumer', _make_consumer)
