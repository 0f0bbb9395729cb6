"""What carrying the trace costs the client libraries of W6, without any agent: one
httpx.AsyncClient GET (W6's, to W2's downstream server) with an ``sw8`` header of the real
length (201 bytes) written the ways an agent can write it, and one gRPC unary call (W6's)
with that value in its metadata. Counted by callgrind on the application thread, per call:
(instructions with N2 calls - with N1) / (N2 - N1), after 30 untimed calls.

    python3 bench/carry_cost.py     # after bench/run.py prepared bench/.venvs (the baseline venv)

httpx modes: ``none`` (W6's ``client.get``), ``setitem`` (``request.headers['sw8'] = v``),
``append`` (appended to httpx's header list, as sw_httpx writes it), ``frame`` (``append``
plus one pass-through ``async def`` around ``AsyncClient.send``, as a wrapper adds).
gRPC modes: ``none``, ``sw8`` (one metadata pair), ``both`` (``sw8`` and an empty
``sw8-correlation``, as apache-skywalking sends them).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

SW8 = (
    '1-'
    + 'M2U1ZjBmNzQ5YjQ2NDRkYmE2YmE1ZjQ2ZjM3MGY2NTkuMS4xNzAxOTA0NTY2NzY2MDAwMQ==-' * 2
    + '1-YmVuY2g=-aW5zdGFuY2U=-L2hlbGxv-MTI3LjAuMC4xOjgwMDA='
)
HTTPX_MODES = ('none', 'setitem', 'append', 'frame')
GRPC_MODES = ('none', 'sw8', 'both')
WARMUP = 30


def httpx_calls(url: str, n: int, mode: str) -> None:
    import httpx

    if mode == 'frame':
        send = httpx.AsyncClient.send

        async def passing(self, request, **kwargs):
            return await send(self, request, **kwargs)

        httpx.AsyncClient.send = passing
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(timeout=120)

    def call():
        if mode == 'none':
            return client.get(url)
        request = client.build_request('GET', url)
        if mode == 'setitem':
            request.headers['sw8'] = SW8
        else:
            request.headers._list.append((b'sw8', b'sw8', SW8.encode()))
        return client.send(request)

    for _ in range(WARMUP + n):
        if loop.run_until_complete(call()).status_code != 200:
            raise RuntimeError('downstream failed')


def grpc_calls(target: str, n: int, mode: str) -> None:
    import grpc

    call = grpc.insecure_channel(target).unary_unary('/bench.Downstream/Call')
    metadata = {'none': None, 'sw8': [('sw8', SW8)], 'both': [('sw8-correlation', ''), ('sw8', SW8)]}[mode]
    for _ in range(WARMUP + n):
        if call(b'x', timeout=120, metadata=metadata) != b'ok':
            raise RuntimeError('unexpected gRPC answer')


def main() -> None:
    import instructions
    import run

    python = str(run.venv_python('baseline'))
    down_port, grpc_port = run.free_port(), run.free_port()
    servers = [
        subprocess.Popen([sys.executable, str(run.BENCH / 'servers' / 'downstream.py'), str(down_port)]),
        subprocess.Popen(
            [python, str(run.BENCH / 'servers' / 'grpc_downstream.py'), str(grpc_port)],
            stdout=subprocess.PIPE,
            text=True,
        ),
    ]
    try:
        if servers[1].stdout.readline().strip() != 'ready':
            raise SystemExit('the gRPC downstream did not start')
        time.sleep(1)
        url = f'http://127.0.0.1:{down_port}/downstream'
        cases = [('httpx', url, mode, 20, 60) for mode in HTTPX_MODES]
        cases += [('grpc', f'127.0.0.1:{grpc_port}', mode, 50, 150) for mode in GRPC_MODES]
        print('| library | mode | application instructions per call | over none |')
        print('|---|---|---:|---:|')
        base: dict[str, int] = {}
        for library, target, mode, n1, n2 in cases:
            counts = [
                instructions.callgrind([python, str(Path(__file__)), library, target, str(n), mode], run.BENCH)[0]
                for n in (n1, n2)
            ]
            per = (counts[1] - counts[0]) // (n2 - n1)
            base.setdefault(library, per)
            print(f'| {library} | {mode} | {per:,} | {per - base[library]:+,} |', flush=True)
    finally:
        for server in servers:
            server.terminate()


if __name__ == '__main__':
    if len(sys.argv) == 5:  # one counted process: library target n mode
        library, target, count, how = sys.argv[1:]
        (httpx_calls if library == 'httpx' else grpc_calls)(target, int(count), how)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        main()
