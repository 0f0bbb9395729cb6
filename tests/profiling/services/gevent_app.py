"""A gevent app (threading patched, pywsgi server, Flask): one endpoint computes without
ever yielding, one waits on I/O, and two switch greenlets often (sleeping in a loop).

With APP_TRACER=1 the app installs a greenlet trace function of its own before serving,
which the agent's switch tracer must chain to and put back."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import greenlet  # noqa: E402
from flask import Flask, request  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

app = Flask(__name__)
switches_seen = 0


def app_tracer(event, args):
    global switches_seen
    switches_seen += 1


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


def distinctive_greenlet_switch(seconds: float) -> str:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        gevent.sleep(0.01)
    return type(greenlet.gettrace()).__name__


def forked_child_check() -> str:
    """Forks while this greenlet's switches are hooked; the child reports whether its
    greenlet trace function is the app's again."""
    gevent.sleep(0.3)  # past the task's threshold: switches are being snapshotted
    hooked = type(greenlet.gettrace()).__name__
    pid = os.fork()
    if pid == 0:
        for _ in range(5):
            gevent.sleep(0.01)
        os._exit(0 if greenlet.gettrace() is app_tracer else 3)
    _, status = os.waitpid(pid, 0)
    return json.dumps({'hooked': hooked, 'child_exit': os.waitstatus_to_exitcode(status)})


def distinctive_idle_switch(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        gevent.sleep(0.01)


@app.route('/burn')
def burn():
    return str(distinctive_greenlet_burn(1.5))


@app.route('/wait')
def wait():
    distinctive_greenlet_wait(1.5)
    return 'waited'


@app.route('/switch')
def switch():
    """Answers the type of the greenlet trace function installed while it ran."""
    if request.args.get('fork'):
        return forked_child_check()
    return distinctive_greenlet_switch(1.0)


@app.route('/idle')
def idle():
    distinctive_idle_switch(1.0)
    return 'idled'


@app.route('/tracer')
def tracer():
    return json.dumps({'switches': switches_seen, 'app_tracer_installed': greenlet.gettrace() is app_tracer})


if os.environ.get('APP_TRACER') == '1':
    greenlet.settrace(app_tracer)

WSGIServer(('127.0.0.1', int(os.environ['PORT'])), app, log=None).serve_forever()
