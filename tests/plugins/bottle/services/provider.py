"""Provider: a Bottle app on Bottle's default server (wsgiref)."""

import os
import time

import bottle

from skywalking.trace.context import get_context

app = bottle.Bottle()


@app.route('/users', method=['GET', 'POST'])
def users():
    time.sleep(0.05)
    return {'correlation': get_context().get_correlation('correlation')}


@app.route('/error')
def error():
    raise ValueError('the handler failed on purpose')


app.run(host='127.0.0.1', port=int(os.environ['PORT']), quiet=True)
