"""Consumer: declares the test's exchange and queue and consumes with aiormq's
``basic_consume`` (an async callback); prints the headers it received. A message ``fail``
makes the callback raise (aiormq 6 hands the error to the loop's exception handler, 7 logs
it). Listens on ``PORT`` once it consumes."""

import asyncio
import os

import aiormq

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']


async def on_message(message):
    headers = message.header.properties.headers or {}
    print('received', message.body, sorted(headers), flush=True)
    if message.body == b'fail':
        raise ValueError('the consumer failed on purpose')


def on_error(loop, context):
    print('the application saw:', context.get('exception'), flush=True)


async def main():
    asyncio.get_running_loop().set_exception_handler(on_error)
    connection = await aiormq.connect('amqp://guest:guest@127.0.0.1:5672/')
    channel = await connection.channel()
    await channel.exchange_declare(EXCHANGE, exchange_type='direct', auto_delete=True)
    await channel.queue_declare(QUEUE, auto_delete=True)
    await channel.queue_bind(QUEUE, EXCHANGE, routing_key=QUEUE)
    await channel.basic_consume(QUEUE, on_message, no_ack=True)
    server = await asyncio.start_server(lambda r, w: w.close(), '127.0.0.1', int(os.environ['PORT']))
    async with server:
        await asyncio.Event().wait()


asyncio.run(main())
