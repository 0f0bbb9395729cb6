"""Provider: a FastAPI app on uvicorn. ``/error`` raises; the app's handler for `Exception`
(run by Starlette's ServerErrorMiddleware) answers with what the agent shows it."""

import asyncio
import os
import time

import uvicorn
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse

from skywalking.trace.context import get_context

app = FastAPI()


@app.api_route('/users', methods=['GET', 'POST'])
def users():
    time.sleep(0.05)
    return {'correlation': get_context().get_correlation('correlation')}


@app.get('/error')
async def error():
    raise ValueError('the handler failed on purpose')


@app.get('/item/{n}')
async def item(n: int):
    await asyncio.sleep(0.05)
    with get_context().new_local_span(f'/local/{n}'):
        await asyncio.sleep(0.01)
    return {'n': n}


@app.exception_handler(Exception)
async def server_error(request, exc):
    span = get_context().active_span
    return JSONResponse(
        {'handled': True, 'span': span.op if span else None, 'segment': get_context().segment.segment_id},
        status_code=500,
    )


@app.websocket('/ws')
async def echo(websocket: WebSocket):
    await websocket.accept()
    text = await websocket.receive_text()
    await websocket.send_text(f'echo {text}')
    await websocket.close()


uvicorn.run(app, host='127.0.0.1', port=int(os.environ['PORT']), log_level='warning', ws='wsproto')
