"""W6 taken apart: one process runs four Flask routes in rotating chunks, so that machine
drift falls on all of them alike, and reports the CPU per request of each, the application
thread's and the whole process's (all threads, as ``<route>_process``): ``/plain`` (the W1
endpoint), ``/httpx`` (plus the httpx AsyncClient GET), ``/grpc`` (plus the gRPC unary call)
and ``/full`` (both, W6's endpoint). Differences between routes give each part's cost; run
once per contender (bench/w6_parts.py pairs them).

Usage: python w6_parts.py --contender rs --service s --backend HOST:PORT --n 2000
       --downstream URL --grpc-downstream HOST:PORT   (prints one JSON line)
"""

import asyncio
import json
import time

from harness import Contender, parse_args

ROUTES = ('plain', 'httpx', 'grpc', 'full')


def make_app(downstream: str, grpc_target: str):
    import flask
    import grpc
    import httpx

    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(timeout=10)
    channel = grpc.insecure_channel(grpc_target)
    call = channel.unary_unary('/bench.Downstream/Call')
    app = flask.Flask('bench')

    def get():
        loop.run_until_complete(client.get(downstream)).raise_for_status()

    def rpc():
        if call(b'x', timeout=10) != b'ok':
            raise RuntimeError('unexpected gRPC answer')

    @app.route('/plain')
    def plain():
        return 'hello'

    @app.route('/httpx')
    def with_httpx():
        get()
        return 'hello'

    @app.route('/grpc')
    def with_grpc():
        rpc()
        return 'hello'

    @app.route('/full')
    def full():
        get()
        rpc()
        return 'hello'

    return app


def main() -> None:
    args = parse_args()
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    client = make_app(args.downstream, args.grpc_downstream).test_client()
    chunk = args.chunk or 50
    for route in ROUTES * 2:  # warm-up
        for _ in range(max(args.warmup // 8, 1)):
            client.get('/' + route)
    cpu = dict.fromkeys(ROUTES, 0.0)
    process = dict.fromkeys(ROUTES, 0.0)
    done = dict.fromkeys(ROUTES, 0)
    turn = 0
    while min(done.values()) < args.n:
        route = ROUTES[turn % len(ROUTES)]
        turn += 1
        started, process_started = time.thread_time(), time.process_time()
        for _ in range(chunk):
            if client.get('/' + route).status_code != 200:
                raise RuntimeError(f'/{route} failed')
        cpu[route] += time.thread_time() - started
        process[route] += time.process_time() - process_started
        done[route] += chunk
    per_request = {route: cpu[route] / done[route] * 1e6 for route in ROUTES}
    per_request.update({f'{route}_process': process[route] / done[route] * 1e6 for route in ROUTES})
    print(json.dumps(per_request), flush=True)
    contender.stop()


if __name__ == '__main__':
    main()
