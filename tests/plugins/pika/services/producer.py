"""Producer: an HTTP service (standard library server) publishing with pika's blocking
connection. ``/publish`` sends to the test's exchange; ``/fail`` asks the consumer to raise;
``/closed`` publishes on a closed channel (pika's error reaches the handler: 503)."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pika

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']
PARAMS = pika.ConnectionParameters('127.0.0.1', 5672, credentials=pika.PlainCredentials('guest', 'guest'))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        connection = pika.BlockingConnection(PARAMS)
        try:
            channel = connection.channel()
            if self.path == '/publish':
                channel.basic_publish(EXCHANGE, QUEUE, b'hello', pika.BasicProperties(headers={'mine': 'kept'}))
            elif self.path == '/fail':
                channel.basic_publish(EXCHANGE, QUEUE, b'fail')
            elif self.path == '/closed':
                channel.close()
                try:
                    channel.basic_publish(EXCHANGE, QUEUE, b'lost')
                except Exception as error:
                    print('publish failed:', type(error).__name__, flush=True)
                    status = 503
        finally:
            connection.close()
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
