"""Consumer: a Bottle app calling the provider with `requests`."""

import os

import bottle
import requests

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'
app = bottle.Bottle()


@app.route('/users')
def users():
    get_context().put_correlation('correlation', 'correlation')
    return requests.post(f'{PROVIDER}/users', timeout=5).json()


@app.route('/error')
def error():
    response = requests.get(f'{PROVIDER}/error', timeout=5)
    bottle.response.status = 502
    return {'provider_status': response.status_code}


app.run(host='127.0.0.1', port=int(os.environ['PORT']), quiet=True)
