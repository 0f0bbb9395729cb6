"""Consumer: a Quart application (no plugin) with `skywalking.contrib.asgi` in one line,
calling the provider with `requests` in a worker thread."""

import asyncio
import os

import requests
import uvicorn
from quart import Quart, jsonify

from skywalking.contrib.asgi import SkyWalkingMiddleware
from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ.get("PROVIDER_PORT", "0")}'
app = Quart(__name__)
app.asgi_app = SkyWalkingMiddleware(app.asgi_app)


@app.route('/users')
async def users():
    get_context().put_correlation('correlation', 'correlation')
    response = await asyncio.to_thread(requests.post, f'{PROVIDER}/users', timeout=5)
    return jsonify(response.json())


@app.route('/error')
async def error():
    raise ValueError('the handler failed on purpose')


uvicorn.run(app, host='127.0.0.1', port=int(os.environ['PORT']), log_level='warning')
