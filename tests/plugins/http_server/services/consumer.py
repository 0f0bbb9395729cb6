"""Consumer: an `http.server` whose /users calls the provider with `requests`, once in a
`@runnable` thread and once in the request itself."""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from skywalking.decorators import runnable
from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}/users'


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        get_context().put_correlation('correlation', 'correlation')

        @runnable(op='/test')
        def post():
            requests.post(PROVIDER, timeout=5)

        thread = threading.Thread(target=post)
        thread.start()
        response = requests.post(PROVIDER, timeout=5)
        thread.join()
        body = response.content
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
