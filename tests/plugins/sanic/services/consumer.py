"""Consumer: a Sanic app (one process) calling the provider with `requests` in a thread."""

import asyncio
import os

import requests
from sanic import Sanic
from sanic.response import json

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'
app = Sanic('consumer')


@app.get('/users')
async def users(request):
    get_context().put_correlation('correlation', 'correlation')
    response = await asyncio.to_thread(requests.post, f'{PROVIDER}/users', timeout=5)
    return json(response.json())


@app.get('/error')
async def error(request):
    response = await asyncio.to_thread(requests.get, f'{PROVIDER}/error', timeout=5)
    return json({'provider_status': response.status_code}, status=502)


if __name__ == '__main__':
    app.run(host='127.0.0.1', port=int(os.environ['PORT']), single_process=True, access_log=False, motd=False)
