"""An `http.server` whose GET /<path> hands work to another thread, one way per path, inside
its entry span: the work calls a local span `work` (@trace) in that thread."""

import asyncio
import contextvars
import logging
import logging.handlers
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from skywalking.decorators import trace

POOL = ThreadPoolExecutor(2)


@trace(op='work')
def work():
    return threading.current_thread().name


def thread():
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()


def timer():
    worker = threading.Timer(0, work)
    worker.start()
    worker.join()


def submit():
    POOL.submit(work).result()


def run_in_executor():
    async def main():
        await asyncio.get_running_loop().run_in_executor(None, work)

    asyncio.run(main())


def to_thread():
    async def main():
        await asyncio.to_thread(work)

    asyncio.run(main())


def copy_context():
    POOL.submit(contextvars.copy_context().run, work).result()


def sync_to_async():
    from asgiref.sync import sync_to_async as to_async

    async def main():
        await to_async(work)()

    asyncio.run(main())


def library_thread():
    # A library's background thread (logging's QueueListener), started and stopped inside
    # the request: it serves the process, not this request.
    records = queue.Queue()
    listener = logging.handlers.QueueListener(records, logging.NullHandler())
    listener.start()
    records.put(logging.makeLogRecord({'msg': 'handled in the listener thread'}))
    listener.stop()


WAYS = {
    '/thread': thread,
    '/timer': timer,
    '/submit': submit,
    '/run_in_executor': run_in_executor,
    '/to_thread': to_thread,
    '/copy_context': copy_context,
    '/sync_to_async': sync_to_async,
    '/library_thread': library_thread,
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        WAYS[self.path]()
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
