"""Pulsar cannot run here. This service uses pulsar-client's own Python layer (`pulsar.Client`,
`Producer`, `Consumer`, real `_pulsar` message builders and configurations) over a stand-in for
its native client (`client._client`): ``create_producer`` and ``subscribe`` return objects
that pass built messages through an in-process queue. Producer and consumer are therefore
one process: ``/send`` sends one message (with an application property); a consumer thread
receives it and, while handling it, calls ``/handled`` (an HTTP exit span). ``/fail`` sends
through a producer whose native send fails (pulsar's ``Timeout``, as when the broker does not
confirm in time); ``/down`` creates a producer with the real native client towards a port
nobody listens on (``DOWN_PORT``). Both answer 503 with the name of the exception the
application got."""

import os
import queue
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pulsar

TOPIC, PORT = os.environ['TOPIC'], int(os.environ['PORT'])
FULL_TOPIC = f'persistent://public/default/{TOPIC}'
messages: queue.Queue = queue.Queue()


class Received:
    """What the native consumer hands back: the sent message, as received from FULL_TOPIC."""

    def __init__(self, message):
        self._message = message

    def topic_name(self):
        return FULL_TOPIC

    def __getattr__(self, name):
        return getattr(self._message, name)


class NativeProducer:
    def topic(self):
        return FULL_TOPIC

    def send(self, message):
        messages.put(message)

    def close(self):
        pass


class NativeConsumer:
    def topic(self):
        return FULL_TOPIC

    def receive(self, *timeout):
        return Received(messages.get())

    def acknowledge(self, message):
        pass

    def close(self):
        pass


class FailingProducer(NativeProducer):
    def send(self, message):
        raise pulsar.Timeout('Pulsar error: TimeOut')


class NativeClient:
    def create_producer(self, topic, *args):
        return NativeProducer()

    def subscribe(self, topic, *args):
        return NativeConsumer()

    def close(self):
        pass


client = pulsar.Client('pulsar://127.0.0.1:6650')
client._client = NativeClient()
producer = client.create_producer(TOPIC)
consumer = client.subscribe(TOPIC, 'mq-subscription')
failing = client.create_producer(TOPIC)
failing._producer = FailingProducer()


def consume():
    while True:
        message = consumer.receive()
        print('received', message.data(), sorted(message.properties()), flush=True)
        urllib.request.urlopen(f'http://127.0.0.1:{PORT}/handled', timeout=10).read()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, b''
        try:
            if self.path == '/send':
                producer.send(b'hello', properties={'mine': 'kept'})
            elif self.path == '/fail':
                failing.send(b'lost')
            elif self.path == '/down':
                down = pulsar.Client(f'pulsar://127.0.0.1:{os.environ["DOWN_PORT"]}', operation_timeout_seconds=1)
                try:
                    down.create_producer(TOPIC)
                finally:
                    down.close()
        except Exception as error:
            status, body = 503, type(error).__name__.encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


threading.Thread(target=consume, daemon=True).start()
ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
