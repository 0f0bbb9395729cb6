"""A small WSGI app (Flask) for prefork servers; each request takes a moment, so
concurrent requests spread over the workers."""

import os
import time

from flask import Flask

app = Flask(__name__)


@app.route('/work')
def work():
    time.sleep(0.3)
    return str(os.getpid())
