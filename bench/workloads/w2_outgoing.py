"""W2: the W1 endpoint making one `requests.get` to a plain HTTP server in another process.

SkyWalking: one segment per request (entry and exit span in it; the server has no agent).
OpenTelemetry: two spans per request (server and client).
"""

from flask_app import iteration_for, make_app
from harness import Contender, measure, parse_args


def main() -> None:
    args = parse_args()
    if not args.downstream:
        raise SystemExit('w2 needs --downstream URL')
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    per_iteration = 2 if args.contender == 'otel' else 1
    measure(contender, iteration_for(make_app(args.downstream)), args.n, args.warmup, per_iteration, chunk=args.chunk)


if __name__ == '__main__':
    main()
