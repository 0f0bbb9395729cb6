"""The application of the profiling benchmark: a threaded Flask server with one CPU-bound endpoint.

``GET /work`` runs a fixed amount of pure-Python work (`--iterations`, calibrated by
``--calibrate MS`` to take about MS milliseconds here) a few calls deep, and answers JSON with
the request's segment id (so the client can tell which requests a profile task sampled) and
the CPU time of the handler's own thread.

With ``--contender upstream|rs`` the agent is started first, configured only through its
``SW_*`` environment variables, which profiling.py sets: apache-skywalking reads some of them
(the profile-task polling interval among them) while `skywalking` is imported. The server is
werkzeug's, threaded (one thread per request), so both agents' http-server and Flask plugins
see real requests. Prints ``BENCH ready {...}`` once it listens, then serves until killed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

WORK_DEPTH = 8  # calls between the handler and the loop, so that stacks have some shape


def spin(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total = (total + i * i) % 1_000_003
    return total


def work(iterations: int, depth: int = WORK_DEPTH) -> int:
    if depth == 0:
        return spin(iterations)
    return work(iterations, depth - 1)


def calibrate(target_ms: float) -> int:
    """Iterations of `work` that take about `target_ms` of CPU (the fastest of a few tries)."""
    trial = 200_000
    best = float('inf')
    for _ in range(5):
        start = time.thread_time()
        work(trial)
        best = min(best, time.thread_time() - start)
    return max(1, round(trial * target_ms / 1000 / best))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--contender', choices=('none', 'upstream', 'rs'), default='none')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--iterations', type=int, default=0, help='work per request')
    parser.add_argument('--calibrate', type=float, default=0.0, help='print the iterations for this many ms, exit')
    args = parser.parse_args()
    if args.calibrate:
        print(f'BENCH calibrated {json.dumps({"iterations": calibrate(args.calibrate)})}', flush=True)
        return

    agent_on = args.contender != 'none'
    if agent_on:
        from skywalking import agent, config

        config.init()  # everything comes from the SW_* variables
        agent.start()

    import flask
    from werkzeug.serving import make_server

    app = flask.Flask('bench-profile')
    iterations = args.iterations

    def segment_id() -> str:
        if not agent_on:
            return ''
        from skywalking.trace.context import get_context

        return str(get_context().segment.segment_id)  # apache-skywalking: an `ID` object

    @app.route('/work')
    def work_endpoint():
        start = time.thread_time()
        value = work(iterations)
        handler_cpu_ms = (time.thread_time() - start) * 1000
        return flask.jsonify(segment=segment_id(), handler_cpu_ms=handler_cpu_ms, value=value)

    # No access log line per request: it is not what is measured.
    logging.getLogger('werkzeug').setLevel(logging.WARNING)
    server = make_server('127.0.0.1', args.port, app, threaded=True)
    ready = {'port': server.server_port, 'python': sys.version.split()[0]}
    print(f'BENCH ready {json.dumps(ready)}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
