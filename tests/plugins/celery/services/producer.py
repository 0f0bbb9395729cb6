"""Producer: an HTTP service (the standard library's server, traced by `sw_http_server`) that
sends the scenario's tasks: ``/delay``, ``/apply_async``, ``/send_task``, ``/fail``,
``/store`` (a task that calls Redis itself) and ``/down`` (a broker nobody listens on: the
error reaches the handler, which answers 503)."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from celery import Celery
from tasks import add, app, fail, store

down = Celery('down', broker=f'redis://127.0.0.1:{os.environ["DOWN_PORT"]}/0')
# Fail fast: celery 5.1's kombu retries connecting forever unless its transport says otherwise.
down.conf.update(
    broker_connection_retry=False,
    broker_connection_max_retries=0,
    broker_transport_options={'max_retries': 1, 'interval_start': 0, 'interval_step': 0.1, 'interval_max': 0.1},
)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        if self.path == '/delay':
            add.delay(1, 2)
        elif self.path == '/apply_async':
            add.apply_async((3, 4), {})
        elif self.path == '/send_task':
            app.send_task('mq.add', (5,), {'y': 6})
        elif self.path == '/store':
            store.delay(f'{os.environ["QUEUE"]}:stored')
        elif self.path == '/fail':
            fail.delay()
        elif self.path == '/down':
            try:
                down.send_task('mq.add', (1, 2), retry=False)
            except Exception as error:  # the application sees the broker's error, unchanged
                status = 503
                print('send failed:', type(error).__name__, flush=True)
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
