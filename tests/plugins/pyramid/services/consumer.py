"""Consumer: a Pyramid app on wsgiref calling the provider with `requests`."""

import os

import requests
from pyramid.config import Configurator
from serve import serve

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'


def users(request):
    get_context().put_correlation('correlation', 'correlation')
    return requests.post(f'{PROVIDER}/users', timeout=5).json()


def error(request):
    response = requests.get(f'{PROVIDER}/error', timeout=5)
    request.response.status_code = 502
    return {'provider_status': response.status_code}


with Configurator() as config:
    config.add_route('users', '/users')
    config.add_view(users, route_name='users', renderer='json')
    config.add_route('error', '/error')
    config.add_view(error, route_name='error', renderer='json')
    app = config.make_wsgi_app()
serve(app)
