"""An `http.server` under `sw-python run` whose endpoints each make outgoing HTTP calls one way:
the `requests` plugin's cases (plain, the caller's own sw8 header, credentials in the URL, an
ignored method, a session's keep-alive connection, a redirect), `urllib.request` (its own plugin,
headers passed as request headers) and `http.client` with no exit span. The calls go to
ECHO_PORT, a server in the test that records the headers each request arrives with."""

import http.client
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

ECHO = f'127.0.0.1:{os.environ["ECHO_PORT"]}'


def plain():
    requests.get(f'http://{ECHO}/plain?x=1', timeout=5)


def own_header():
    requests.get(f'http://{ECHO}/own', headers={'SW8': 'set-by-the-caller', 'X-Other': 'kept'}, timeout=5)


def credentials():
    requests.get(f'http://user:secret@{ECHO}/credentials', timeout=5)


def ignored():
    requests.delete(f'http://{ECHO}/ignored', timeout=5)


def session():
    with requests.Session() as s:
        s.post(f'http://{ECHO}/session/1', data=b'one', timeout=5)
        s.post(f'http://{ECHO}/session/2', data=b'two', timeout=5)


def redirect():
    requests.get(f'http://{ECHO}/redirect', timeout=5)


def with_urllib():
    urllib.request.urlopen(f'http://{ECHO}/urllib', timeout=5).read()


def urllib_ignored():
    request = urllib.request.Request(f'http://{ECHO}/urllib-ignored', method='DELETE')
    urllib.request.urlopen(request, timeout=5).read()


def plain_http_client():
    connection = http.client.HTTPConnection(ECHO, timeout=5)
    connection.request('GET', '/http-client')
    connection.getresponse().read()
    connection.close()


CASES = {
    f.__name__: f for f in (plain, own_header, credentials, ignored, session, redirect, with_urllib, urllib_ignored)
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.strip('/')
        if name in CASES:
            CASES[name]()
        # Outside any exit span: nothing may be added to this request.
        plain_http_client()
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')

    # plugin_http_ignore_method holds DELETE here: such a request gets no entry span.
    do_DELETE = do_GET

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
