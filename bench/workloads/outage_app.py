"""The outage benchmark's application: a Flask app that gunicorn serves (gthread worker).

gunicorn imports this module in its worker, after the fork (no ``--preload``), so the agent
starts in the process that serves the requests, the same way for both agents and without
their fork handling. The set-up comes from the environment, which outage.py sets:
``BENCH_CONTENDER`` (none, upstream or rs), ``BENCH_SERVICE`` and ``BENCH_BACKEND``; the agent is
started with the same lines as in the other workloads (harness.Contender). outage.py also sets
``SW_AGENT_TRACE_IGNORE_PATH=/__stats``, so that reading the statistics makes no segment.

- ``GET /<phase>`` answers ``hello``. The path is the entry span's operation name, so a load
  phase requesting its own path has its segments counted apart at the collector.
- ``GET /__stats`` answers JSON: the worker's pid, current and peak resident memory, threads,
  and the agent's counters (skywalking-rs: ``_core.stats()``; apache-skywalking has none, only
  its segment queue's length, read from the agent's private attribute).
"""

from __future__ import annotations

import os
import threading

from harness import Contender

CONTENDER = os.environ['BENCH_CONTENDER']
contender = Contender(CONTENDER, os.environ.get('BENCH_SERVICE', 'bench-outage'), os.environ.get('BENCH_BACKEND', ''))
contender.start()

# Imported after the agent started, as in an instrumented application.
import flask  # noqa: E402

app = flask.Flask('bench-outage')


def memory_kib() -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of this worker, KiB."""
    found = {}
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(('VmRSS:', 'VmHWM:')):
                found[line.split(':')[0]] = int(line.split()[1])
    return {'rss_kib': found.get('VmRSS', 0), 'peak_rss_kib': found.get('VmHWM', 0)}


def agent_counters() -> dict[str, int]:
    if CONTENDER == 'rs':
        from skywalking import _core

        return dict(_core.stats())
    if CONTENDER == 'upstream':
        from skywalking.agent import agent

        queue = getattr(agent, '_SkyWalkingAgent__segment_queue', None)
        return {} if queue is None else {'segment_queue_length': queue.qsize(), 'segment_queue_max': queue.maxsize}
    return {}


@app.route('/__stats')
def stats():
    return flask.jsonify(pid=os.getpid(), threads=threading.active_count(), agent=agent_counters(), **memory_kib())


@app.route('/<phase>')
def hello(phase: str):
    return 'hello'
