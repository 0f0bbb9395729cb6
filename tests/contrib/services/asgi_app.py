"""A hand-written ASGI application (no framework) wrapped in `skywalking.contrib.asgi`, on
uvicorn: HTTP routes, a route that raises, a websocket, an async route for concurrency."""

import asyncio
import os

import uvicorn

from skywalking.contrib.asgi import SkyWalkingMiddleware
from skywalking.trace.context import get_context


async def answer(send, status: int, body: bytes) -> None:
    await send({'type': 'http.response.start', 'status': status, 'headers': [(b'content-length', b'%d' % len(body))]})
    await send({'type': 'http.response.body', 'body': body})


async def application(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            await send({'type': message['type'] + '.complete'})
            if message['type'] == 'lifespan.shutdown':
                return
    path = scope['path']
    if scope['type'] == 'websocket':
        await receive()  # websocket.connect
        await send({'type': 'websocket.accept'})
        message = await receive()
        await send({'type': 'websocket.send', 'text': f'echo {message.get("text")}'})
        await send({'type': 'websocket.close'})
    elif path == '/hello':
        await answer(send, 200, b'hello')
    elif path == '/error':
        raise ValueError('the handler failed on purpose')
    elif path.startswith('/item/'):
        n = path.rsplit('/', 1)[1]
        await asyncio.sleep(0.05)
        with get_context().new_local_span(f'/local/{n}'):
            await asyncio.sleep(0.01)
        await answer(send, 200, n.encode())
    else:
        await answer(send, 404, b'')


application = SkyWalkingMiddleware(application)

if __name__ == '__main__':
    uvicorn.run(application, host='127.0.0.1', port=int(os.environ['PORT']), log_level='warning', ws='wsproto')
