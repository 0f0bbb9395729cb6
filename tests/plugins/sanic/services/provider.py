"""Provider: a Sanic app (one process)."""

import asyncio
import os

from sanic import Sanic
from sanic.response import json

from skywalking.trace.context import get_context

app = Sanic('provider')


@app.route('/users', methods=['GET', 'POST'])
async def users(request):
    await asyncio.sleep(0.05)
    return json({'correlation': get_context().get_correlation('correlation')})


@app.get('/error')
async def error(request):
    raise ValueError('the handler failed on purpose')


@app.get('/item/<n:int>')
async def item(request, n):
    await asyncio.sleep(0.05)
    with get_context().new_local_span(f'/local/{n}'):
        await asyncio.sleep(0.01)
    return json({'n': n})


if __name__ == '__main__':
    app.run(host='127.0.0.1', port=int(os.environ['PORT']), single_process=True, access_log=False, motd=False)
