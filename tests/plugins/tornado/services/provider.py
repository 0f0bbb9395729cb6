"""Provider: a Tornado application."""

import asyncio
import json
import os

import tornado.web

from skywalking.trace.context import get_context


class Users(tornado.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(0.05)
        self.write(json.dumps({'correlation': get_context().get_correlation('correlation')}))

    post = get


class Error(tornado.web.RequestHandler):
    def get(self):
        raise ValueError('the handler failed on purpose')


class Item(tornado.web.RequestHandler):
    async def get(self, n):
        await asyncio.sleep(0.05)
        with get_context().new_local_span(f'/local/{n}'):
            await asyncio.sleep(0.01)
        self.write({'n': n})


async def main():
    app = tornado.web.Application([('/users', Users), ('/error', Error), (r'/item/(\d+)', Item)])
    app.listen(int(os.environ['PORT']), '127.0.0.1')
    await asyncio.Event().wait()


asyncio.run(main())
