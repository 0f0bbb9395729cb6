"""Provider: a plain WSGI application (no framework plugin) on werkzeug's development server,
so the entry span is the server plugin's own."""

import os

from werkzeug.serving import run_simple


def app(environ, start_response):
    path = environ.get('PATH_INFO') or '/'
    if path == '/missing':
        start_response('404 NOT FOUND', [('Content-Type', 'text/plain'), ('Content-Length', '7')])
        return [b'missing']
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '2')])
    return [b'ok']


run_simple('127.0.0.1', int(os.environ['PORT']), app, threaded=True)
