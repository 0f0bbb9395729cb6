"""Provider: an `http.server` (traced by sw_http_server) answering /users with 200, /missing
with 404 and /slow after three seconds, well past the consumer's timeout."""

import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith('/slow'):
            time.sleep(3)
        status = 404 if self.path.startswith('/missing') else 200
        body = self.headers.get('sw8', '').encode()
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
