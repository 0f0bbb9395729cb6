"""Consumer: kafka-python's ``KafkaConsumer`` with a group id, assigned partition 0 of
``TOPIC`` and reading by iteration (``MODE=iterate``) or ``poll()`` (``MODE=poll``), or a
member of its group through ``subscribe()`` (``MODE=subscribe``: JoinGroup, SyncGroup,
Heartbeat with the stand-in broker), reading by iteration and committing each record.
Handling a record calls the producer's
``/handled`` (an HTTP exit span: inside the record's span when iterating). Listens on
``PORT`` once it consumes."""

import os
import socket
import threading
import urllib.request

from kafka import KafkaConsumer, TopicPartition

TOPIC, MODE = os.environ['TOPIC'], os.environ['MODE']
HANDLED = f'http://127.0.0.1:{os.environ["PRODUCER_PORT"]}/handled'

consumer = KafkaConsumer(
    bootstrap_servers=os.environ['BROKER'],
    group_id='mq-group',
    auto_offset_reset='earliest',
    enable_auto_commit=False,
    api_version=(1, 0, 0),  # as the producer: no probing of the stand-in broker
)
if MODE == 'subscribe':
    consumer.subscribe([TOPIC])
else:
    consumer.assign([TopicPartition(TOPIC, 0)])


def handle(record):
    print('received', record.value, [name for name, _ in record.headers], flush=True)
    urllib.request.urlopen(HANDLED, timeout=10).read()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(os.environ['PORT'])))
server.listen()
threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()

if MODE == 'poll':
    while True:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                handle(record)
else:
    for record in consumer:
        handle(record)
        if MODE == 'subscribe':
            consumer.commit()
