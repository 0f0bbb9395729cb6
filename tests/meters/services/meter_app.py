"""A service with one meter of each kind, updated by every request to `/work`."""

import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from skywalking.meter.counter import Counter, CounterMode
from skywalking.meter.gauge import Gauge
from skywalking.meter.histogram import Histogram

requests_total = Counter.Builder('requests_total', CounterMode.INCREMENT, (('app', 'demo'),)).tag('z', 'last').build()
requests_rate = Counter.Builder('requests_rate', CounterMode.RATE).build()
Counter.Builder('work_seconds', CounterMode.INCREMENT).build()
latency = Histogram.Builder('latency_ms', [10, 1, 5], min_value=0).build()


def queue_depth():
    while True:
        yield 42


Gauge.Builder('queue_depth', queue_depth()).build()


@Counter.timer('work_seconds')
def work() -> str:
    time.sleep(0.01)
    return 'done'


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        requests_total.increment(1)
        requests_rate.increment(1)
        with latency.create_timer():
            pass
        latency.add_value(3)
        latency.add_value(7)
        body = work().encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
