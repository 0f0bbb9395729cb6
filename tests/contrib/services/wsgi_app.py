"""A hand-written WSGI application (no framework) wrapped in `skywalking.contrib.wsgi`, on
wsgiref (which no plugin covers) or werkzeug's development server, by ``SERVER``."""

import json
import os

from skywalking.contrib.wsgi import SkyWalkingMiddleware
from skywalking.trace.context import get_context


def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/users':
        body = json.dumps({'correlation': get_context().get_correlation('correlation')}).encode()
        start_response('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
        return [body]
    if path == '/error':
        raise ValueError('the handler failed on purpose')
    start_response('404 Not Found', [('Content-Length', '0')])
    return [b'']


application = SkyWalkingMiddleware(application)

if __name__ == '__main__':
    port = int(os.environ['PORT'])
    if os.environ.get('SERVER') == 'werkzeug':
        from werkzeug.serving import run_simple

        run_simple('127.0.0.1', port, application, threaded=True)
    else:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIServer, make_server

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        make_server('127.0.0.1', port, application, server_class=Server).serve_forever()
