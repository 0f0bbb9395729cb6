"""Producer: an HTTP service (standard library server) whose handler publishes with aiormq
(``asyncio.run`` per request). ``/publish`` sends to the test's exchange, ``/fail`` asks the
consumer to raise, ``/closed`` publishes on a closed channel (the error reaches the handler:
503)."""

import asyncio
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiormq
from pamqp import commands

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']
URL = 'amqp://guest:guest@127.0.0.1:5672/'


async def publish(path: str) -> int:
    connection = await aiormq.connect(URL)
    try:
        channel = await connection.channel()
        if path == '/publish':
            properties = commands.Basic.Properties(headers={'mine': 'kept'})
            await channel.basic_publish(b'hello', exchange=EXCHANGE, routing_key=QUEUE, properties=properties)
        elif path == '/fail':
            await channel.basic_publish(b'fail', exchange=EXCHANGE, routing_key=QUEUE)
        elif path == '/closed':
            await channel.close()
            try:
                await channel.basic_publish(b'lost', exchange=EXCHANGE, routing_key=QUEUE)
            except Exception as error:
                print('publish failed:', type(error).__name__, flush=True)
                return 503
        return 200
    finally:
        await connection.close()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status = asyncio.run(publish(self.path))
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
