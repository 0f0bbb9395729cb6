"""Instructions per traced call of each plugin whose request path bench/run.py does not
measure, over no agent, for skywalking-rs and apache-skywalking, by valgrind's callgrind
(application thread only; see bench/instructions.py for why, and for the N2 - N1 method).

    python3 bench/plugin_cost.py                       # every target (about an hour on 2 cores)
    python3 bench/plugin_cost.py --targets pymysql,falcon --kinds none,rs

Exit targets (a database, cache or producer call) run `CALLS` calls inside one manual entry
span per iteration (bench/workloads/plugin_cost_driver.py); the entry span's own cost,
measured alone (``entry-only``), is taken out, so a figure is the cost of one exit span and
the plugin's Python around it. Web framework targets run one request per iteration, so a
figure is the cost of one entry span and the plugin around it. ``loguru`` runs with the log
reporter on (it traces nothing otherwise): a figure is one logged line reported.

Needs bench/run.py's release wheel (bench/.venvs/wheels; `python3 bench/run.py --workloads w3
--reps 1 --quick --no-doc` makes it) and the machine's MariaDB, PostgreSQL and RabbitMQ. It
prepares two virtualenvs with the same library pins: ``pc-upstream`` (apache-skywalking
1.3.0) and ``pc-rs`` (the wheel); no agent runs in ``pc-rs`` with no agent started. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import subprocess
import sys

import run
from instructions import callgrind

DRIVER = run.BENCH / 'workloads' / 'plugin_cost_driver.py'
CALLS = 10  # as the driver's
# The library versions, the same for both agents: each inside apache-skywalking 1.3.0's
# declared range where it has the plugin, so that its plugin installs.
PINS = [
    'tornado==6.4.2',
    'falcon==3.1.3',
    'pyramid==2.0.2',
    'bottle==0.13.2',
    'aiohttp==3.11.18',
    'sanic==23.12.2',
    'pymysql==1.0.3',
    'psycopg[binary]==3.2.9',
    'asyncpg==0.29.0',
    'pymongo==3.11.4',
    'elasticsearch==7.13.4',
    'neo4j==5.28.1',
    'happybase==1.2.0',
    'kafka-python==2.2.21',  # the test Kafka broker decodes with kafka.protocol classes of 2.1+
    'pika==1.3.2',
    'celery==5.3.6',
    'loguru==0.7.3',
    'grpcio==1.85.4',  # as bench/run.py's; the test Kafka broker imports it
    'pyyaml',
    'setuptools<81',  # pkg_resources: happybase and pyramid import it
]
# (target, kind of span, plugin) in table order.
TARGETS = [
    ('falcon', 'entry', 'sw_falcon_v3'),
    ('pyramid', 'entry', 'sw_pyramid'),
    ('bottle', 'entry', 'sw_bottle'),
    ('aiohttp', 'entry', 'sw_aiohttp (server)'),
    ('tornado', 'entry', 'sw_tornado'),
    ('sanic', 'entry', 'sw_sanic_v2'),
    ('http_server', 'entry', 'sw_http_server (stdlib `http.server`)'),
    ('pymysql', 'exit', 'sw_pymysql'),
    ('psycopg', 'exit', 'sw_psycopg'),
    ('asyncpg', 'exit', 'sw_asyncpg'),
    ('pymongo', 'exit', 'sw_pymongo (stand-in server)'),
    ('elasticsearch', 'exit', 'sw_elasticsearch (stand-in server)'),
    ('neo4j', 'exit', 'sw_neo4j (stand-in server)'),
    ('happybase', 'exit', 'sw_happybase (stand-in server)'),
    ('kafka-python', 'exit', 'sw_kafka producer (stand-in broker)'),
    ('pika', 'exit', 'sw_rabbitmq producer'),
    ('celery', 'exit', 'sw_celery producer (`send_task`)'),
    ('loguru', 'exit', 'sw_loguru (a line reported)'),
]
N1, N2 = 40, 120  # iterations


def prepare() -> None:
    upstream = [*PINS, f'apache-skywalking=={run.UPSTREAM_VERSION}', '--no-binary=apache-skywalking']
    run.ensure_venv('pc-upstream', upstream, lambda: run.pip('pc-upstream', *upstream))
    wheels = sorted((run.VENVS / 'wheels').glob('skywalking_rs-*.whl'))
    if len(wheels) != 1:
        raise SystemExit('no release wheel in bench/.venvs/wheels: run bench/run.py once first')
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    run.ensure_venv('pc-rs', [*PINS, digest], lambda: run.pip('pc-rs', *PINS, str(wheels[0])))


def instructions(kind: str, target: str, n: int, backend: str) -> int:
    """Application-thread instructions of one driver run."""
    python = str(run.venv_python('pc-upstream' if kind == 'upstream' else 'pc-rs'))
    return callgrind([python, str(DRIVER), target, str(n), kind, backend], DRIVER.parent)[0]


def per_iteration(kind: str, target: str, backend: str) -> float:
    return (instructions(kind, target, N2, backend) - instructions(kind, target, N1, backend)) / (N2 - N1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--targets', default=','.join(name for name, _, _ in TARGETS))
    parser.add_argument('--kinds', default='none,upstream,rs')
    parser.add_argument('--jobs', type=int, default=2, help='valgrind runs at once')
    args = parser.parse_args()
    prepare()
    wanted = args.targets.split(',')
    kinds = args.kinds.split(',')
    targets = [t for t in TARGETS if t[0] in wanted]
    names = [name for name, _, _ in targets]
    if any(span == 'exit' for _, span, _ in targets):
        names.insert(0, 'entry-only')
    port = run.free_port()
    sink = subprocess.Popen(
        [str(run.venv_python('pc-upstream')), str(run.BENCH / 'servers' / 'sw_sink.py'), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    sink.stdout.readline()  # ready
    backend = f'127.0.0.1:{port}'
    # Target by target, the slow upstream runs last: a cut-short run still has whole rows.
    order = [(name, kind) for name in names for kind in kinds if kind != 'upstream']
    order += [(name, kind) for name in names for kind in kinds if kind == 'upstream']
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        jobs = {pool.submit(per_iteration, kind, name, backend): (name, kind) for name, kind in order}
        results: dict[tuple[str, str], float | None] = {}
        for job in concurrent.futures.as_completed(jobs):
            try:
                results[jobs[job]] = job.result()
            except RuntimeError as error:
                print(error, file=sys.stderr)
                results[jobs[job]] = None
            print(f'{jobs[job]}: {results[jobs[job]]}', file=sys.stderr, flush=True)  # progress

    sink.terminate()

    def overhead(name: str, span: str, kind: str) -> float | None:
        mine, base = results.get((name, kind)), results.get((name, 'none'))
        if mine is None or base is None:
            return None
        if span == 'entry':
            return mine - base
        empty, empty_base = results.get(('entry-only', kind)), results.get(('entry-only', 'none'))
        if empty is None or empty_base is None:
            return None
        return ((mine - base) - (empty - empty_base)) / CALLS

    def cell(value: float | None) -> str:
        return '-' if value is None else f'{value:+,.0f}'

    print('| plugin | span | no agent, per call | apache-skywalking | skywalking-rs | ratio |')
    print('|---|---|---:|---:|---:|---:|')
    for name, span, plugin in targets:
        base = results.get((name, 'none'))
        per_call = '-' if base is None else f'{base / (CALLS if span == "exit" else 1):,.0f}'
        up, rs = overhead(name, span, 'upstream'), overhead(name, span, 'rs')
        ratio = f'{rs / up:.2f}x' if up and rs is not None and up > 0 else '-'
        print(f'| {plugin} | {span} | {per_call} | {cell(up)} | {cell(rs)} | {ratio} |', flush=True)
    if ('entry-only', 'none') in results:
        entry = {kind: results.get(('entry-only', kind)) for kind in kinds}
        if all(value is not None for value in entry.values()):
            up, rs = entry.get('upstream', 0) - entry['none'], entry.get('rs', 0) - entry['none']
            print(f'\nentry span alone (taken out of the exit rows): upstream {cell(up)}, skywalking-rs {cell(rs)}')


if __name__ == '__main__':
    main()
