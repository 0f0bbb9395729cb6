"""A threaded WSGI app (Flask on werkzeug) with a slow, CPU-bound endpoint."""

import os
import time

from flask import Flask

app = Flask(__name__)


def distinctive_cpu_burn(seconds: float) -> int:
    deadline = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < deadline:
        total += sum(range(200))
    return total


@app.route('/slow')
def slow():
    return str(distinctive_cpu_burn(1.5))


@app.route('/fast')
def fast():
    return 'ok'


app.run(host='127.0.0.1', port=int(os.environ['PORT']), threaded=True)
