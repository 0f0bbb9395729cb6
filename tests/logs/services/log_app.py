"""A service whose requests log: `/inside` within the request's entry span, `/outside` from a
thread started before any request (no span; a thread started inside the request would carry
its trace along, sw_threading), `/error` with an exception and credentials in a URL,
`/filtered` through a logger whose filter rejects the record, `/loguru` through loguru.
Each also logs below the reporter's level and on the agent's own logger, neither reported."""

import logging
import os
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from loguru import logger as loguru_logger

app = logging.getLogger('app')
filtered = logging.getLogger('app.filtered')
filtered.addFilter(lambda record: 'rejected' not in record.getMessage())
logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s [%(tid)s] %(message)s')


_outside_requests: queue.Queue = queue.Queue()


def _outside_worker() -> None:
    while True:
        done = _outside_requests.get()
        app.warning('outside a span')
        done.set()


threading.Thread(target=_outside_worker, daemon=True).start()


def outside() -> None:
    done = threading.Event()
    _outside_requests.put(done)
    done.wait(10)


def error() -> None:
    try:
        raise ValueError('cannot reach https://user:secret@example.com/db')
    except ValueError:
        app.exception('failed calling %s', 'https://admin:hunter2@example.com/api')


CASES = {
    '/inside': lambda: app.warning('inside %s %d', 'span', 1),
    '/outside': outside,
    '/error': error,
    '/filtered': lambda: filtered.error('rejected by the filter'),
    '/loguru': lambda: loguru_logger.error('from loguru {}', 'ok'),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        case = CASES.get(self.path)
        if case is None:
            self.send_response(404)
            self.end_headers()
            return
        app.info('below the level')
        logging.getLogger('skywalking').warning('the agent logs on its own logger')
        case()
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
