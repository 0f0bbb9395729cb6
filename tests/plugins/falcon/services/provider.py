"""Provider: a Falcon app on wsgiref."""

import time

import falcon
from serve import serve

from skywalking.trace.context import get_context


class Users:
    def on_get(self, req, resp):
        time.sleep(0.05)
        resp.media = {'correlation': get_context().get_correlation('correlation')}

    on_post = on_get


class Error:
    def on_get(self, req, resp):
        raise ValueError('the handler failed on purpose')


app = falcon.App()
app.add_route('/users', Users())
app.add_route('/error', Error())
serve(app)
