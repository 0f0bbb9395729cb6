"""Consumer: a hug API on wsgiref calling the provider with `requests`."""

import os

import falcon
import hug
import requests
from serve import serve

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'
api = hug.API(__name__)


@hug.get('/users', api=api)
def users():
    get_context().put_correlation('correlation', 'correlation')
    return requests.post(f'{PROVIDER}/users', timeout=5).json()


@hug.get('/error', api=api)
def error(response):
    answer = requests.get(f'{PROVIDER}/error', timeout=5)
    response.status = falcon.HTTP_502
    return {'provider_status': answer.status_code}


serve(api.http.server())
