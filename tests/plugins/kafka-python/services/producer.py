"""Producer: an HTTP service (standard library server) sending with kafka-python to the
tests' Kafka stand-in (``BROKER``). ``/send`` sends one record (with an application header)
to partition 0 of ``TOPIC``; ``/handled`` is what the consumer calls while it handles one."""

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
        if self.path == '/send':
            producer.send(TOPIC, b'hello', partition=0, headers=[('mine', b'kept')]).get(timeout=10)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
