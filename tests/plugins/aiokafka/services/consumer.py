"""Consumer: aiokafka's ``AIOKafkaConsumer`` with a group id, assigned partition 0 of
``TOPIC`` and reading with ``async for`` (``MODE=iterate``) or ``getmany()`` (``MODE=poll``),
or a member of its group through ``subscribe()`` (``MODE=subscribe``: JoinGroup, SyncGroup,
Heartbeat with the stand-in broker), reading with ``async for`` and committing each record.
Handling a record calls the producer's
``/handled`` with urllib (an HTTP exit span: inside the record's span with ``async for``).
Listens on ``PORT`` once it consumes."""

import asyncio
import os
import urllib.request

from aiokafka import AIOKafkaConsumer, TopicPartition

TOPIC, MODE = os.environ['TOPIC'], os.environ['MODE']
HANDLED = f'http://127.0.0.1:{os.environ["PRODUCER_PORT"]}/handled'


def handle(record):
    print('received', record.value, [name for name, _ in record.headers], flush=True)
    urllib.request.urlopen(HANDLED, timeout=10).read()


async def main():
    consumer = AIOKafkaConsumer(
        bootstrap_servers=os.environ['BROKER'],
        group_id='mq-group',
        auto_offset_reset='earliest',
        enable_auto_commit=False,
    )
    await consumer.start()
    if MODE == 'subscribe':
        consumer.subscribe([TOPIC])
    else:
        consumer.assign([TopicPartition(TOPIC, 0)])
    server = await asyncio.start_server(lambda r, w: w.close(), '127.0.0.1', int(os.environ['PORT']))
    async with server:
        if MODE == 'poll':
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        handle(record)
        else:
            async for record in consumer:
                handle(record)
                if MODE == 'subscribe':
                    await consumer.commit()


asyncio.run(main())
