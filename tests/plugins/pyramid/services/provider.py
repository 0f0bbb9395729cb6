"""Provider: a Pyramid app on wsgiref."""

import time

from pyramid.config import Configurator
from serve import serve

from skywalking.trace.context import get_context


def users(request):
    time.sleep(0.05)
    return {'correlation': get_context().get_correlation('correlation')}


def error(request):
    raise ValueError('the handler failed on purpose')


with Configurator() as config:
    config.add_route('users', '/users')
    config.add_view(users, route_name='users', renderer='json')
    config.add_route('error', '/error')
    config.add_view(error, route_name='error', renderer='json')
    app = config.make_wsgi_app()
serve(app)
