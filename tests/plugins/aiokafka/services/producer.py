"""Producer: an HTTP service (standard library server) sending with aiokafka to the tests'
Kafka stand-in (``BROKER``): ``/send`` runs one producer in ``asyncio.run`` (which carries
the request's context, and so its entry span, into the loop) and sends one record (with an
application header) to partition 0 of ``TOPIC``; ``/handled`` is what the consumer calls
while it handles one; ``/down`` starts a producer whose broker (``DOWN_PORT``) is down and
answers 503 with the name of the exception the application got."""

import asyncio
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiokafka import AIOKafkaProducer

TOPIC = os.environ['TOPIC']


async def send():
    producer = AIOKafkaProducer(bootstrap_servers=os.environ['BROKER'])
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, b'hello', partition=0, headers=[('mine', b'kept')])
    finally:
        await producer.stop()


async def down():
    producer = AIOKafkaProducer(bootstrap_servers=f'127.0.0.1:{os.environ["DOWN_PORT"]}', request_timeout_ms=1000)
    try:
        await producer.start()
        await producer.send_and_wait(TOPIC, b'lost')
    finally:
        await producer.stop()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, b''
        if self.path == '/send':
            asyncio.run(send())
        elif self.path == '/down':
            try:
                asyncio.run(down())
            except Exception as error:
                status, body = 503, type(error).__name__.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
