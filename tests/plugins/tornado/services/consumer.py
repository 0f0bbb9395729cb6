"""Consumer: a Tornado application calling the provider with `requests` in a thread."""

import asyncio
import os

import requests
import tornado.web

from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'


class Users(tornado.web.RequestHandler):
    async def get(self):
        get_context().put_correlation('correlation', 'correlation')
        response = await asyncio.to_thread(requests.post, f'{PROVIDER}/users', timeout=5)
        self.write(response.json())


class Error(tornado.web.RequestHandler):
    async def get(self):
        response = await asyncio.to_thread(requests.get, f'{PROVIDER}/error', timeout=5)
        self.set_status(502)
        self.write({'provider_status': response.status_code})


async def main():
    app = tornado.web.Application([('/users', Users), ('/error', Error)])
    app.listen(int(os.environ['PORT']), '127.0.0.1')
    await asyncio.Event().wait()


asyncio.run(main())
