"""Consumer: a Falcon app on wsgiref calling the provider with `requests`."""

import os

import falcon
import requests
from serve import serve

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'


class Users:
    def on_get(self, req, resp):
        get_context().put_correlation('correlation', 'correlation')
        resp.media = requests.post(f'{PROVIDER}/users', timeout=5).json()


class Error:
    def on_get(self, req, resp):
        response = requests.get(f'{PROVIDER}/error', timeout=5)
        resp.status = falcon.HTTP_502
        resp.media = {'provider_status': response.status_code}


app = falcon.App()
app.add_route('/users', Users())
app.add_route('/error', Error())
serve(app)
