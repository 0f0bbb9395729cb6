"""An application that exits (``sys.exit``) while its daemon threads are still working inside
spans ends as it asked to, not by SIGABRT.

At interpreter finalization CPython 3.10-3.13 end such threads with ``pthread_exit`` when
they next take the GIL. Before the agent's exit handler waited for them, a thread that was
inside a native call running Python code (formatting an exception leaving a span, the
application's logging under the log hook) was unwound through Rust frames and the process
died with "FATAL: exception not rethrown" (every run of the `raise` case below did).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import free_port

APP = """
import logging, os, sys, threading, time
from skywalking.trace.context import get_context
from skywalking.trace.tags import Tag

logging.basicConfig(stream=open(os.devnull, 'w'))
logger = logging.getLogger('app')
mode = sys.argv[1]

class Payload(Tag):
    key = 'payload'

def work(worker):
    n = 0
    while True:
        n += 1
        try:
            with get_context().new_entry_span(f'/work/{worker}'):
                with get_context().new_local_span('step') as span:
                    span.tag(Payload('x' * 10))
                    if mode == 'raise':
                        raise ValueError(f'failed {n}')
                    try:
                        raise KeyError(n)
                    except KeyError:
                        logger.exception('handled %d', n)  # formatted under the log hook
        except ValueError:
            pass

for worker in range(8):
    threading.Thread(target=work, args=(worker,), daemon=True).start()
time.sleep(0.3)
print('exiting', flush=True)
sys.exit(3)
"""


@pytest.mark.parametrize('mode', ['raise', 'log'])
def test_exit_while_daemon_threads_run_inside_spans(mode):
    command = [sys.executable, '-m', 'sw_python', 'run', sys.executable, '-c', textwrap.dedent(APP), mode]
    # No backend: what matters is how the process ends (delivery at exit is tested in
    # test_agent_lifecycle.py); the threads queue far more than any backend is needed for.
    env = dict(
        os.environ,
        SW_AGENT_NAME=f'daemon-exit-{mode}',
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{free_port()}',
        SW_AGENT_LOGGING_LEVEL='ERROR',
        SW_AGENT_LOG_REPORTER_ACTIVE='True',
        SW_AGENT_LOG_REPORTER_LEVEL='ERROR',
        SW_AGENT_EXIT_FLUSH_TIMEOUT='1',
    )
    for run in range(2):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        output = done.stdout + done.stderr
        assert 'exiting' in output, output[-3000:]
        assert done.returncode == 3, f'run {run}: exit status {done.returncode}\n{output[-3000:]}'
        assert 'FATAL' not in output, output[-3000:]
