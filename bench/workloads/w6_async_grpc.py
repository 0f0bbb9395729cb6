"""W6: the W1 endpoint making one httpx AsyncClient GET to W2's plain HTTP server and one
gRPC unary call to a plain grpc.server, both in other processes.

The view awaits the httpx call on one event loop kept for the process (as an application
that bridges into async code does), then makes the gRPC call on a channel opened once.
SkyWalking: one segment per request (an entry and two exit spans). OpenTelemetry: three
spans per request (server, httpx client, gRPC client).
"""

import asyncio

from harness import Contender, measure, parse_args


def make_app(downstream: str, grpc_target: str, timeout: float = 10):
    # Imported after the contender started, so that every instrumentation sees them.
    import flask
    import grpc
    import httpx

    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(timeout=timeout)
    channel = grpc.insecure_channel(grpc_target)
    call = channel.unary_unary('/bench.Downstream/Call')
    app = flask.Flask('bench')

    @app.route('/hello')
    def hello():
        response = loop.run_until_complete(client.get(downstream))
        response.raise_for_status()
        if call(b'x', timeout=timeout) != b'ok':
            raise RuntimeError('unexpected gRPC answer')
        return 'hello'

    return app


def iteration_for(app):
    client = app.test_client()

    def iteration(_i: int) -> None:
        response = client.get('/hello')
        if response.status_code != 200:
            raise RuntimeError(f'/hello answered {response.status_code}')

    return iteration


def main() -> None:
    args = parse_args()
    if not args.downstream or not args.grpc_downstream:
        raise SystemExit('w6 needs --downstream URL and --grpc-downstream HOST:PORT')
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    if args.contender == 'otel':
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        GrpcInstrumentorClient().instrument()
    per_iteration = 3 if args.contender == 'otel' else 1
    app = make_app(args.downstream, args.grpc_downstream)
    measure(contender, iteration_for(app), args.n, args.warmup, per_iteration, chunk=args.chunk)


if __name__ == '__main__':
    main()
