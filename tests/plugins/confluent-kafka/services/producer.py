"""Producer: an HTTP service (standard library server) producing with confluent-kafka to the
tests' Kafka stand-in (``BROKER``). ``/send`` produces one message (with an application
header) to partition 0 of ``TOPIC`` and flushes; ``/handled`` is what the consumer calls while
it handles one; ``/down`` produces with a producer whose broker (``DOWN_PORT``) is down and
answers 503 with the error its delivery callback got."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka import Producer

TOPIC = os.environ['TOPIC']
producer = Producer({'bootstrap.servers': os.environ['BROKER']})


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, b''
        if self.path == '/send':
            producer.produce(TOPIC, b'hello', partition=0, headers=[('mine', b'kept')])
            producer.flush(10)
        elif self.path == '/down':
            down = Producer({'bootstrap.servers': f'127.0.0.1:{os.environ["DOWN_PORT"]}', 'message.timeout.ms': 1000})
            errors = []
            down.produce(TOPIC, b'lost', on_delivery=lambda error, message: errors.append(error))
            down.flush(10)
            if errors and errors[0] is not None:
                status, body = 503, errors[0].name().encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
