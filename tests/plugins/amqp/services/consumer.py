"""Consumer: declares the test's exchange and queue and consumes with py-amqp's
``basic_consume``; prints the headers it received. A message ``fail`` makes the callback
raise; the application sees the error and consumes on. Listens on ``PORT`` once it consumes."""

import os
import socket
import threading

import amqp

EXCHANGE, QUEUE = os.environ['EXCHANGE'], os.environ['QUEUE']

connection = amqp.Connection('127.0.0.1:5672', userid='guest', password='guest')
connection.connect()
channel = connection.channel()
channel.exchange_declare(EXCHANGE, 'direct', auto_delete=True)
channel.queue_declare(QUEUE, auto_delete=True)
channel.queue_bind(QUEUE, EXCHANGE, QUEUE)


def on_message(message):
    headers = message.properties.get('application_headers') or {}
    print('received', message.body, sorted(headers), flush=True)
    if message.body == b'fail':
        raise ValueError('the consumer failed on purpose')


channel.basic_consume(QUEUE, callback=on_message, no_ack=True)

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(('127.0.0.1', int(os.environ['PORT'])))
server.listen()
threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()

while True:
    try:
        connection.drain_events()
    except ValueError as error:
        print('the application saw:', error, flush=True)
