"""Provider: a hug API (Falcon 2's `falcon.API`) on wsgiref."""

import time

import hug
from serve import serve

from skywalking.trace.context import get_context

api = hug.API(__name__)


@hug.http('/users', accept=('GET', 'POST'), api=api)
def users():
    time.sleep(0.05)
    return {'correlation': get_context().get_correlation('correlation')}


@hug.get('/error', api=api)
def error():
    raise ValueError('the handler failed on purpose')


serve(api.http.server())
