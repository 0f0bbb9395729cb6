"""Consumer: an `http.server` whose /users posts to the provider with `urllib.request`, and
whose /missing gets a 404 from it (urllib raises HTTPError, which the handler catches)."""

import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            if self.path == '/users':
                urllib.request.urlopen(urllib.request.Request(f'{PROVIDER}/users', data=b'x'), timeout=5).read()
            else:
                urllib.request.urlopen(f'{PROVIDER}/missing', timeout=5).read()
            status = 200
        except urllib.error.HTTPError as error:
            status = 502 if error.code == 404 else 500
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
