"""Producer: an HTTP service (standard library server) sending with kafka-python to the
tests' Kafka stand-in (``BROKER``). ``/send`` sends one record (with an application header)
to partition 0 of ``TOPIC``; ``/handled`` is what the consumer calls while it handles one;
``/down`` sends with a producer whose broker (``DOWN_PORT``) is down and answers 503 with the
name of the exception the application got."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kafka import KafkaProducer

TOPIC = os.environ['TOPIC']
# The broker's version is given: kafka-python 2.0's probing of the stand-in broker sometimes
# stalls, which would test the stand-in rather than the plugin.
producer = KafkaProducer(bootstrap_servers=os.environ['BROKER'], api_version=(1, 0, 0))
producer.partitions_for(TOPIC)  # metadata before serving, not on the first request


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, b''
        if self.path == '/send':
            producer.send(TOPIC, b'hello', partition=0, headers=[('mine', b'kept')]).get(timeout=10)
        elif self.path == '/down':
            try:
                down = KafkaProducer(
                    bootstrap_servers=f'127.0.0.1:{os.environ["DOWN_PORT"]}', api_version=(1, 0, 0), max_block_ms=1000
                )
                try:
                    down.send(TOPIC, b'lost')
                finally:
                    down.close(timeout=1)
            except Exception as error:
                status, body = 503, type(error).__name__.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
