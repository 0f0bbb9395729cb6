"""A plain Starlette app (no FastAPI) on uvicorn: HTTP and websocket routes, a handler that
raises with no exception handler, and an async route for the concurrency check."""

import asyncio
import os

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from skywalking.trace.context import get_context


async def hello(request):
    return JSONResponse({'hello': request.path_params['name']})


async def error(request):
    raise ValueError('the handler failed on purpose')


async def item(request):
    n = request.path_params['n']
    await asyncio.sleep(0.05)
    with get_context().new_local_span(f'/local/{n}'):
        await asyncio.sleep(0.01)
    return JSONResponse({'n': n})


async def echo(websocket):
    await websocket.accept()
    await websocket.send_text(f'echo {await websocket.receive_text()}')
    await websocket.close()


app = Starlette(
    routes=[
        Route('/hello/{name}', hello),
        Route('/error', error),
        Route('/item/{n:int}', item),
        WebSocketRoute('/ws', echo),
    ]
)
uvicorn.run(app, host='127.0.0.1', port=int(os.environ['PORT']), log_level='warning', ws='wsproto')
