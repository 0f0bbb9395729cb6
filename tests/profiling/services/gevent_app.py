"""A gevent app (threading patched, pywsgi server, Flask): one endpoint computes without
ever yielding, one waits on I/O."""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from flask import Flask  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

app = Flask(__name__)


def distinctive_greenlet_burn(seconds: float) -> int:
    deadline = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < deadline:
        total += sum(range(200))
    return total


def distinctive_greenlet_wait(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        gevent.sleep(0.05)


@app.route('/burn')
def burn():
    return str(distinctive_greenlet_burn(1.5))


@app.route('/wait')
def wait():
    distinctive_greenlet_wait(1.5)
    return 'waited'


WSGIServer(('127.0.0.1', int(os.environ['PORT'])), app, log=None).serve_forever()
