"""An http.server service whose requests log through loguru (as an application would, with
loguru's own API): inside the request's entry span, from a thread without a span, with an
exception, bound to extra fields, and below the reporter's level. Answers JSON."""

import json
import os
import queue
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from loguru import logger

# As applications usually start: loguru's default handler replaced by their own. Both calls
# remove every handler, the agent's sink included, which the agent must add back.
logger.remove()
logger.configure(handlers=[{'sink': sys.stderr, 'level': 'DEBUG'}])


def inside() -> None:
    logger.info('below the reporter level')
    logger.warning('inside {} {}', 'span', 1)


# A thread started before any request, so without a span (a thread started inside the
# request would carry its trace along, sw_threading): it logs when asked to.
JOBS: queue.Queue = queue.Queue()


def plain_worker() -> None:
    while True:
        done = JOBS.get()
        logger.error('outside a span')
        done.set()


threading.Thread(target=plain_worker, name='plain-worker', daemon=True).start()


def outside() -> None:
    done = threading.Event()
    JOBS.put(done)
    done.wait(10)


def exception() -> None:
    try:
        raise ValueError('boom')
    except ValueError:
        logger.exception('failed with {}', 'an exception')


def bound() -> None:
    logger.bind(user='alice').opt(lazy=True).error('bound {}', lambda: 'lazily')


CASES = {'inside': inside, 'outside': outside, 'exception': exception, 'bound': bound}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        case = CASES.get(self.path.strip('/'))
        if case is None:
            self.send_response(404)
            self.end_headers()
            return
        case()
        body = json.dumps({'result': 'logged'}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
