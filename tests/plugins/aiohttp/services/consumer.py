"""Consumer: an aiohttp.web application calling the provider with `requests` in a thread."""

import asyncio
import os

import requests
from aiohttp import web

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'


async def users(request):
    get_context().put_correlation('correlation', 'correlation')
    response = await asyncio.to_thread(requests.post, f'{PROVIDER}/users', timeout=5)
    return web.json_response(response.json())


async def error(request):
    response = await asyncio.to_thread(requests.get, f'{PROVIDER}/error', timeout=5)
    return web.json_response({'provider_status': response.status_code}, status=502)


app = web.Application()
app.add_routes([web.get('/users', users), web.get('/error', error)])
web.run_app(app, host='127.0.0.1', port=int(os.environ['PORT']), print=None)
