"""Instructions per hand-off to another thread inside a span, by valgrind's callgrind: what
thread context propagation (sw_threading, on by default) adds to ``pool.submit(work).result()``
made inside an entry span, over the same call with propagation switched off.

Each figure is (instructions with N2 hand-offs - with N1) / (N2 - N1), so start-up cancels
out; the caller's thread and the pool's worker thread are counted, the agent's reporter
threads are not (under valgrind they send far more often per span than at full speed; see
bench/instructions.py). The reporter is pointed at a port nobody listens on.

    python3 bench/handoff.py --python <a python whose skywalking is a release build>

The figures for ``none`` run the same loop without any agent (no span, nothing wrapped).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

N1, N2 = 300, 900
SETUPS = ('none', 'off', 'on')


def drive(setup: str, n: int) -> None:
    """One process: a warmed pool worker (callgrind's thread 2), then the agent, then `n`
    hand-offs inside an entry span each."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1)
    pool.submit(int).result()  # the worker thread exists before the agent's threads

    def work() -> int:
        return 1

    if setup == 'none':
        for _ in range(200 + n):
            pool.submit(work).result()
        return

    from skywalking import agent, config
    from skywalking.trace.context import get_context

    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    config.init(
        agent_collector_backend_services=f'127.0.0.1:{port}',
        agent_name='handoff',
        agent_profile_active=False,
        agent_meter_reporter_active=False,
        agent_log_reporter_active=False,
        agent_exit_flush_timeout=0.5,
        plugin_threading_propagate_context=setup == 'on',
    )
    agent.start()
    for _ in range(200 + n):
        with get_context().new_entry_span(op='/handoff'):
            pool.submit(work).result()
    agent.agent.stop()


def thread_instructions(python: str, setup: str, n: int) -> tuple[int, int]:
    """(caller's thread, pool worker's thread) instructions of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                'valgrind',
                '--tool=callgrind',
                '--separate-threads=yes',
                f'--callgrind-out-file={tmp}/cg.out',
                python,
                __file__,
                '--drive',
                setup,
                str(n),
            ],
            env={**os.environ, 'PYTHONHASHSEED': '0'},
            capture_output=True,
            check=True,
        )
        counts = {}
        for path in glob.glob(f'{tmp}/cg.out-*'):
            thread = int(path.rsplit('-', 1)[1])
            summary = re.search(r'^summary:\s+(\d+)', Path(path).read_text(), re.M)
            counts[thread] = int(summary.group(1)) if summary else 0
        return counts.get(1, 0), counts.get(2, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--python', default=sys.executable)
    parser.add_argument('--drive', nargs=2, metavar=('SETUP', 'N'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive[0], int(args.drive[1]))
        return
    print(f'instructions per hand-off (N = {N1} and {N2}), caller + worker thread')
    for setup in SETUPS:
        low = thread_instructions(args.python, setup, N1)
        high = thread_instructions(args.python, setup, N2)
        caller, worker = ((h - lo) / (N2 - N1) for h, lo in zip(high, low, strict=True))
        print(f'{setup:5} caller {caller:9.0f}  worker {worker:9.0f}  total {caller + worker:9.0f}')


if __name__ == '__main__':
    main()
