"""Producer: an HTTP service (standard library server) sending with aiokafka to the tests'
Kafka stand-in (``BROKER``): ``/send`` runs one producer in ``asyncio.run`` (which carries
the request's context, and so its entry span, into the loop) and sends one record (with an
application header) to partition 0 of ``TOPIC``; ``/handled`` is what the consumer calls
while it handles one."""

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


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/send':
            asyncio.run(send())
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
