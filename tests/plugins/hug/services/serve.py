"""Serves a WSGI app on wsgiref with a thread per request (no server plugin covers it)."""

import os
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve(app) -> None:
    make_server('127.0.0.1', int(os.environ['PORT']), app, server_class=Server, handler_class=Quiet).serve_forever()
