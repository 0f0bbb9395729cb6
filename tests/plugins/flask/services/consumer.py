"""Consumer: Flask calling the provider with `requests`, in a `@runnable` thread and inline."""

import os
from threading import Thread

import requests
from flask import Flask, jsonify

from skywalking.decorators import runnable
from skywalking.trace.context import get_context

PROVIDER = f'http://127.0.0.1:{os.environ["PROVIDER_PORT"]}'
app = Flask(__name__)


@app.route('/users', methods=['POST', 'GET'])
def users():
    get_context().put_correlation('correlation', 'correlation')

    @runnable(op='/test')
    def post():
        requests.post(f'{PROVIDER}/users', timeout=5)

    thread = Thread(target=post)
    thread.start()
    response = requests.post(f'{PROVIDER}/users', timeout=5)
    thread.join()
    return jsonify(response.json())


@app.route('/error')
def error():
    response = requests.get(f'{PROVIDER}/error', timeout=5)
    return jsonify({'provider_status': response.status_code}), 502


app.run(host='127.0.0.1', port=int(os.environ['PORT']), debug=False, use_reloader=False, threaded=True)
