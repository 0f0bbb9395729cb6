"""Provider: an aiohttp.web application."""

import asyncio
import os

from aiohttp import web

from skywalking.trace.context import get_context


async def users(request):
    await asyncio.sleep(0.05)
    return web.json_response({'correlation': get_context().get_correlation('correlation')})


async def error(request):
    raise ValueError('the handler failed on purpose')


async def item(request):
    n = request.match_info['n']
    await asyncio.sleep(0.05)
    with get_context().new_local_span(f'/local/{n}'):
        await asyncio.sleep(0.01)
    return web.json_response({'n': n})


app = web.Application()
app.add_routes(
    [web.get('/users', users), web.post('/users', users), web.get('/error', error), web.get('/item/{n}', item)]
)
web.run_app(app, host='127.0.0.1', port=int(os.environ['PORT']), print=None)
