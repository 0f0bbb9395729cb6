"""Producer: an HTTP service (standard library server) whose handler publishes with aio-pika
(``asyncio.run`` per request, carrying the request's entry span) to the test's exchange."""

import asyncio
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aio_pika

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']


async def publish() -> None:
    connection = await aio_pika.connect('amqp://guest:guest@127.0.0.1:5672/')
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(EXCHANGE)
        await exchange.publish(aio_pika.Message(b'hello', headers={'mine': 'kept'}), routing_key=QUEUE)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        asyncio.run(publish())
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
