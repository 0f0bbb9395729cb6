"""Producer: an HTTP service (standard library server) producing with confluent-kafka to the
tests' Kafka stand-in (``BROKER``). ``/send`` produces one message (with an application
header) to partition 0 of ``TOPIC`` and flushes; ``/handled`` is what the consumer calls while
it handles one."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import Producer

TOPIC = os.environ['TOPIC']
producer = Producer({'bootstrap.servers': os.environ['BROKER']})


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/send':
            producer.produce(TOPIC, b'hello', partition=0, headers=[('mine', b'kept')])
            producer.flush(10)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
