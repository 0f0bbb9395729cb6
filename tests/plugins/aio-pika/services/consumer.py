"""Consumer: declares the test's exchange and queue with aio-pika and consumes with
``queue.consume(callback)``; prints the headers it received. Listens on ``PORT`` once it
consumes."""

import asyncio
import os

import aio_pika

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']


async def on_message(message):
    async with message.process():
        print('received', message.body, sorted(message.headers), flush=True)


async def main():
    connection = await aio_pika.connect('amqp://guest:guest@127.0.0.1:5672/')
    channel = await connection.channel()
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.DIRECT, auto_delete=True)
    queue = await channel.declare_queue(QUEUE, auto_delete=True)
    await queue.bind(exchange, routing_key=QUEUE)
    await queue.consume(on_message)
    server = await asyncio.start_server(lambda r, w: w.close(), '127.0.0.1', int(os.environ['PORT']))
    async with server:
        await asyncio.Event().wait()


asyncio.run(main())
