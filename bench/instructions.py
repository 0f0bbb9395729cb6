"""Instructions per W1/W2/W6/W7 request (and per W3 span) over no agent, by valgrind's callgrind: a measure of the
agents' overhead that does not move with the machine's load (CPU-time runs do, a lot, on a
shared machine). Each figure is (instructions with N2 requests - with N1) / (N2 - N1), so
start-up cancels out. The application thread (the request path) and the other threads (the
reporters) are counted apart: under valgrind a process runs about 50 times slower, so a
reporter that sends what queued every 50 ms sends one segment per send instead of dozens,
and its count per request is far above what it costs at full speed (bench/run.py's CPU time
includes it as it really is).

    python3 bench/instructions.py        # after bench/run.py prepared bench/.venvs and the collector
    python3 bench/instructions.py --workloads w3 --kinds none,rs   # a part of it
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run

DRIVER = run.BENCH / 'workloads' / 'instructions_driver.py'
CASES = {
    'w1': (1000, 3000, ''),
    'w2': (300, 900, 'downstream'),
    'w3': (2000, 6000, 'w3'),
    'w7': (300, 900, 'w7'),
    # A W6 request runs ~6.3 million instructions (httpx, anyio, grpcio), 20 times W2's: fewer
    # requests, so that a run stays within a few minutes under callgrind.
    'w6': (50, 150, 'w6'),
    # The web framework workloads, each app called as its server calls it (WSGI or ASGI).
    'flask-wsgi': (300, 900, 'flask-wsgi'),
    'django-wsgi': (300, 900, 'django-wsgi'),
    'django-asgi': (300, 900, 'django-asgi'),
    'fastapi': (300, 900, 'fastapi'),
}
KINDS = ('none', 'upstream', 'rs')


def callgrind(argv: list[str], cwd: Path, keep: Path | None = None) -> tuple[int, int]:
    """(application thread, all other threads) instructions of `argv` run under callgrind; with
    `keep`, its per-thread profiles are copied there (for callgrind_annotate)."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ['valgrind', '--tool=callgrind', '--separate-threads=yes', f'--callgrind-out-file={tmp}/cg.out', *argv],
            # String hashes (and so dict probes) must not differ between the N1 and N2 runs.
            env={**os.environ, 'PYTHONHASHSEED': '0'},
            capture_output=True,
            text=True,
            cwd=cwd,
        )
        if done.returncode != 0:
            raise RuntimeError(f'{argv[1:]} failed:\n{done.stderr[-3000:]}')
        # One file per thread: cg.out-01 is the main (application) thread.
        totals = {
            path.name: int(re.search(r'^totals: (\d+)', path.read_text(), re.MULTILINE).group(1))
            for path in Path(tmp).glob('cg.out-*')
        }
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for path in Path(tmp).glob('cg.out-*'):
                shutil.copy(path, keep / path.name)
    main = totals.pop('cg.out-01')
    return main, sum(totals.values())


def instructions(
    kind: str, n: int, backend: str, target: str, venv: str = '', keep: Path | None = None
) -> tuple[int, int]:
    """(application thread, all other threads) instructions of one run, in the contender's venv
    or in `venv` (a directory of bench/.venvs)."""
    python = str(run.venv_python(venv or run.VENV_OF[kind]))
    return callgrind([python, str(DRIVER), backend, str(n), kind, target], DRIVER.parent, keep)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--workloads', default=','.join(CASES), help='comma-separated, e.g. w2,w3')
    parser.add_argument('--kinds', default=','.join(KINDS), help='contenders, e.g. none,rs (ratios need all three)')
    parser.add_argument(
        '--venv',
        action='append',
        default=[],
        metavar='KIND=NAME',
        help='run a contender in another venv of bench/.venvs, e.g. rs=rs-pre (a copy holding another wheel)',
    )
    parser.add_argument(
        '--no-gc',
        action='store_true',
        help="the cyclic garbage collector off after the warm-up: whether one of W6's full collections "
        '(one per ~300 requests, with or without an agent) falls between the N1 and N2 runs moves its '
        'per-request figure by up to 170,000, more than the changes compared',
    )
    parser.add_argument('--keep', type=Path, help='keep the callgrind profiles in DIR/<workload>-<kind>-<n>/')
    args = parser.parse_args()
    venvs = dict(item.split('=', 1) for item in args.venv)
    if args.no_gc:
        os.environ['SW_BENCH_NO_GC'] = '1'
    cases = {name: CASES[name] for name in args.workloads.split(',')}
    kinds = tuple(args.kinds.split(','))
    grpc_port, http_port, down_port = run.free_port(), run.free_port(), run.free_port()
    grpc_down_port = run.free_port()
    collector = subprocess.Popen(
        [
            str(run.COLLECTOR),
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
    # W6's gRPC downstream (a plain grpc.server; the baseline venv has grpcio, no agent).
    grpc_downstream = subprocess.Popen(
        [str(run.venv_python('baseline')), str(run.BENCH / 'servers' / 'grpc_downstream.py'), str(grpc_down_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        time.sleep(1)
        if 'w6' in cases and grpc_downstream.stdout.readline().strip() != 'ready':
            raise SystemExit("W6's gRPC downstream did not start")
        print(
            '| workload | threads | no agent | apache-skywalking | skywalking-rs | overhead apache-skywalking | '
            'overhead skywalking-rs | ratio |'
        )
        print('|---|---|---:|---:|---:|---:|---:|---:|')
        for name, (n1, n2, target) in cases.items():
            url = {
                'downstream': f'http://127.0.0.1:{down_port}/',
                'w6': f'w6=http://127.0.0.1:{down_port}/downstream,127.0.0.1:{grpc_down_port}',
            }.get(target, target)
            app, rest = {}, {}
            for kind in kinds:
                backend, venv = f'127.0.0.1:{grpc_port}', venvs.get(kind, '')
                keep = {n: args.keep / f'{name}-{kind}-{n}' if args.keep else None for n in (n1, n2)}
                a_app, a_rest = instructions(kind, n1, backend, url, venv, keep[n1])
                b_app, b_rest = instructions(kind, n2, backend, url, venv, keep[n2])
                app[kind] = (b_app - a_app) // (n2 - n1)
                rest[kind] = (b_rest - a_rest) // (n2 - n1)
            total = {kind: app[kind] + rest[kind] for kind in kinds}
            for label, per in (('application', app), ('other threads', rest), ('all', total)):
                per = {kind: per.get(kind, 0) for kind in KINDS}  # a contender left out counts as 0
                up, rs = per['upstream'] - per['none'], per['rs'] - per['none']
                ratio = f'{rs / up:.3f}x' if up > 0 else '-'
                print(
                    f'| {name} | {label} | {per["none"]:,} | {per["upstream"]:,} | {per["rs"]:,} | {up:+,} | {rs:+,} | '
                    f'{ratio} |',
                    flush=True,
                )
    finally:
        collector.terminate()
        downstream.terminate()
        grpc_downstream.terminate()


if __name__ == '__main__':
    main()
