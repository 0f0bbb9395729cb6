"""Consumer: confluent-kafka's ``Consumer`` with a group id, assigned partition 0 of ``TOPIC``
and reading with ``poll()`` (``MODE=poll``) or ``consume()`` (``MODE=consume``), or a member
of its group through ``subscribe()`` (``MODE=subscribe``: JoinGroup, SyncGroup, Heartbeat
with the stand-in broker), reading with ``poll()`` and committing each message.
Handling a message calls the producer's ``/handled`` (an
HTTP exit span: inside the message's span with ``poll()``). Listens on ``PORT`` once it
consumes."""

import os
import socket
import threading
import urllib.request

from confluent_kafka import Consumer, TopicPartition

TOPIC, MODE = os.environ['TOPIC'], os.environ['MODE']
HANDLED = f'http://127.0.0.1:{os.environ["PRODUCER_PORT"]}/handled'

consumer = Consumer(
    {
        'bootstrap.servers': os.environ['BROKER'],
        'group.id': 'mq-group',
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': False,
    }
)
if MODE == 'subscribe':
    consumer.subscribe([TOPIC])
else:
    consumer.assign([TopicPartition(TOPIC, 0)])


def handle(message):
    print('received', message.value(), [name for name, _ in message.headers() or []], flush=True)
    urllib.request.urlopen(HANDLED, timeout=10).read()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(os.environ['PORT'])))
server.listen()
threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()

while True:
    if MODE == 'consume':
        for message in consumer.consume(num_messages=10, timeout=0.5):
            if not message.error():
                handle(message)
    else:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            handle(message)
            if MODE == 'subscribe':
                consumer.commit(message, asynchronous=False)
