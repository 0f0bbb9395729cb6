"""Producer: an HTTP service (standard library server) publishing with py-amqp. ``/publish``
sends to the test's exchange (``/confirm`` the same in publisher-confirm mode); ``/fail``
asks the consumer to raise; ``/closed`` publishes on a closed channel (the error reaches the
handler: 503)."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import amqp

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        with amqp.Connection('127.0.0.1:5672', userid='guest', password='guest') as connection:
            channel = connection.channel()
            if self.path in ('/publish', '/confirm'):
                if self.path == '/confirm':
                    channel.confirm_select()
                message = amqp.Message(b'hello', application_headers={'mine': 'kept'})
                channel.basic_publish(message, exchange=EXCHANGE, routing_key=QUEUE)
            elif self.path == '/fail':
                channel.basic_publish(amqp.Message(b'fail'), exchange=EXCHANGE, routing_key=QUEUE)
            elif self.path == '/closed':
                channel.close()
                try:
                    channel.basic_publish(amqp.Message(b'lost'), exchange=EXCHANGE, routing_key=QUEUE)
                except Exception as error:
                    print('publish failed:', type(error).__name__, flush=True)
                    status = 503
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
