"""Consumer: a Django app on runserver calling the provider with `requests`."""

import os
import sys

import requests
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from skywalking.trace.context import get_context

settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=['*'], LOGGING_CONFIG=None)
PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'


def users(request):
    get_context().put_correlation('correlation', 'correlation')
    response = requests.post(f'{PROVIDER}/users', timeout=5)
    return JsonResponse(response.json())


def error(request):
    response = requests.get(f'{PROVIDER}/error', timeout=5)
    return JsonResponse({'provider_status': response.status_code, 'provider': response.json()}, status=502)


urlpatterns = [path('users', users), path('error', error)]

if __name__ == '__main__':
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], 'runserver', f'127.0.0.1:{os.environ["PORT"]}', '--noreload'])
