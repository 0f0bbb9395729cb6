"""Provider: a Django app on runserver (WSGI, as upstream's scenario), uvicorn (ASGI) or
werkzeug's development server, by ``SERVER``. ``/error`` raises; the app's 500 handler
answers with what the agent shows it."""

import asyncio
import os
import sys
import time

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from skywalking.trace.context import get_context

settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=['*'], LOGGING_CONFIG=None)


def users(request):
    time.sleep(0.05)
    return JsonResponse({'correlation': get_context().get_correlation('correlation')})


def error(request):
    raise ValueError('the handler failed on purpose')


async def item(request, n):
    await asyncio.sleep(0.05)
    with get_context().new_local_span(f'/local/{n}'):
        await asyncio.sleep(0.01)
    return JsonResponse({'n': n})


def server_error(request):
    """Django's 500 handler: the request's entry span is still the active one here."""
    span = get_context().active_span
    return JsonResponse(
        {'handled': True, 'span': span.op if span else None, 'segment': get_context().segment.segment_id}, status=500
    )


urlpatterns = [path('users', users), path('error', error), path('item/<int:n>', item)]
handler500 = server_error

if __name__ == '__main__':
    port = os.environ['PORT']
    if os.environ.get('SERVER') == 'asgi':
        import uvicorn
        from django.core.asgi import get_asgi_application

        uvicorn.run(get_asgi_application(), host='127.0.0.1', port=int(port), log_level='warning')
    elif os.environ.get('SERVER') == 'werkzeug':
        from django.core.wsgi import get_wsgi_application
        from werkzeug.serving import run_simple

        run_simple('127.0.0.1', int(port), get_wsgi_application(), threaded=True)
    else:
        from django.core.management import execute_from_command_line

        execute_from_command_line([sys.argv[0], 'runserver', f'127.0.0.1:{port}', '--noreload'])
