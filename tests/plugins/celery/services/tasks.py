"""The Celery app of the scenario: a worker runs it (`celery -A tasks worker`), the producer
imports it. Broker and queue come from the test (``BROKER_URL``, ``QUEUE``: a queue of this
test's own on the shared broker). When the worker is ready it listens on ``PORT``, so the test
knows it consumes."""

import os
import socket
import threading

from celery import Celery
from celery.signals import heartbeat_sent, worker_ready

app = Celery('tasks', broker=os.environ['BROKER_URL'])
app.conf.update(
    task_default_queue=os.environ['QUEUE'],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_protocol=int(os.environ.get('TASK_PROTOCOL', '2')),
)


@app.task(name='mq.add')
def add(x, y):
    return x + y


@app.task(name='mq.store')
def store(key):
    """A task that makes a call of its own: traced, under the task's span."""
    import redis

    redis.Redis(host='127.0.0.1', port=6379).set(key, 'stored')


@app.task(name='mq.fail')
def fail():
    raise ValueError('the task failed on purpose')


@worker_ready.connect
def listen(**_):
    """Tells the test the worker consumes: it waits for this port."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(('127.0.0.1', int(os.environ['PORT'])))
    server.listen()

    def accept():
        while True:
            connection, _ = server.accept()
            connection.close()

    threading.Thread(target=accept, daemon=True).start()


@heartbeat_sent.connect
def heartbeat(**_):
    """Tells the test the worker's periodic broker traffic happened."""
    print('heartbeat sent', flush=True)
