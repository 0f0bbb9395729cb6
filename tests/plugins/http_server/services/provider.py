"""Provider: a plain `http.server` answering POST/GET /users with the correlation it received."""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from skywalking.trace.context import get_context


class Handler(BaseHTTPRequestHandler):
    def _answer(self):
        time.sleep(0.1)
        body = json.dumps({'correlation': get_context().get_correlation('correlation')}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
