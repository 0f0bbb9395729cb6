"""Instructions per W1/W2 request over no agent, by valgrind's callgrind: a measure of the
agents' overhead that does not move with the machine's load (CPU-time runs do, a lot, on a
shared machine). Each figure is (instructions with N2 requests - with N1) / (N2 - N1), every
thread of the process counted, so start-up cancels out and the reporters' work is included.

    python3 bench/instructions.py        # after bench/run.py prepared bench/.venvs and the collector
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time

import run

DRIVER = run.BENCH / 'workloads' / 'instructions_driver.py'
CASES = {'w1': (1000, 3000, ''), 'w2': (300, 900, 'downstream')}
KINDS = ('none', 'upstream', 'rs')


def instructions(kind: str, n: int, backend: str, downstream: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                'valgrind',
                '--tool=callgrind',
                f'--callgrind-out-file={tmp}/cg.out',
                str(run.venv_python(run.VENV_OF[kind])),
                str(DRIVER),
                backend,
                str(n),
                kind,
                downstream,
            ],
            capture_output=True,
            text=True,
            cwd=DRIVER.parent,
            check=True,
        ).stderr
    return int(re.search(r'Collected : (\d+)', out).group(1))


def main() -> None:
    grpc_port, http_port, down_port = run.free_port(), run.free_port(), run.free_port()
    collector = subprocess.Popen(
        [
            str(run.ROOT / 'target' / 'release' / 'sw-collector'),
            '--grpc',
            f'127.0.0.1:{grpc_port}',
            '--http',
            f'127.0.0.1:{http_port}',
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    downstream = subprocess.Popen(
        [sys.executable, str(run.BENCH / 'servers' / 'downstream.py'), str(down_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1)
        print(
            '| workload | no agent | apache-skywalking | skywalking-rs | overhead apache-skywalking | '
            'overhead skywalking-rs | ratio |'
        )
        print('|---|---:|---:|---:|---:|---:|---:|')
        for name, (n1, n2, target) in CASES.items():
            url = f'http://127.0.0.1:{down_port}/' if target else ''
            per = {}
            for kind in KINDS:
                a = instructions(kind, n1, f'127.0.0.1:{grpc_port}', url)
                b = instructions(kind, n2, f'127.0.0.1:{grpc_port}', url)
                per[kind] = (b - a) // (n2 - n1)
            up, rs = per['upstream'] - per['none'], per['rs'] - per['none']
            print(
                f'| {name} | {per["none"]:,} | {per["upstream"]:,} | {per["rs"]:,} | +{up:,} | +{rs:,} | '
                f'{rs / up:.3f}x |',
                flush=True,
            )
    finally:
        collector.terminate()
        downstream.terminate()


if __name__ == '__main__':
    main()
