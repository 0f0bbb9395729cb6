"""Provider: Flask on werkzeug's development server, as upstream's flask plugin test."""

import os
import time

from flask import Flask, jsonify

from skywalking.trace.context import get_context

app = Flask(__name__)


@app.route('/users', methods=['POST', 'GET'])
def users():
    time.sleep(0.1)
    return jsonify({'correlation': get_context().get_correlation('correlation')})


@app.route('/error')
def error():
    raise ValueError('the handler failed on purpose')


app.run(host='127.0.0.1', port=int(os.environ['PORT']), debug=False, use_reloader=False, threaded=True)
