"""Consumer: declares the test's exchange and queue, then consumes with the blocking
connection's ``basic_consume`` (``MODE=consume``) or ``basic_get`` (``MODE=get``). It prints the
headers it received (the application's own are kept next to the agent's). A message ``fail``
makes the callback raise; the application sees the error and consumes on. It listens on
``PORT`` once it consumes, so the test knows when to publish."""

import os
import socket
import threading
import time

import pika

EXCHANGE, QUEUE, MODE = os.environ['EXCHANGE'], os.environ['QUEUE'], os.environ.get('MODE', 'consume')
PARAMS = pika.ConnectionParameters('127.0.0.1', 5672, credentials=pika.PlainCredentials('guest', 'guest'))

connection = pika.BlockingConnection(PARAMS)
channel = connection.channel()
channel.exchange_declare(EXCHANGE, 'direct', auto_delete=True)
channel.queue_declare(QUEUE, auto_delete=True)
channel.queue_bind(QUEUE, EXCHANGE, QUEUE)


def on_message(ch, method, properties, body):
    print('received', body, sorted((properties.headers or {}).keys()), flush=True)
    ch.basic_ack(method.delivery_tag)
    if body == b'fail':
        raise ValueError('the consumer failed on purpose')


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(os.environ['PORT'])))
server.listen()
threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()

if MODE == 'get':
    while True:
        method, properties, body = channel.basic_get(QUEUE, auto_ack=True)
        if method is None:
            connection.sleep(0.1)
            continue
        print('got', body, sorted((properties.headers or {}).keys()), flush=True)
else:
    channel.basic_consume(QUEUE, on_message)
    while True:
        try:
            channel.start_consuming()
        except ValueError as error:
            print('the application saw:', error, flush=True)
            time.sleep(0)
