"""W1: a Flask endpoint called in-process through the test client (the Flask plugin makes the entry span).

One segment (SkyWalking) or one span (OpenTelemetry) per request.
"""

from flask_app import iteration_for, make_app
from harness import Contender, measure, parse_args


def main() -> None:
    args = parse_args()
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    measure(contender, iteration_for(make_app()), args.n, args.warmup, per_iteration=1, chunk=args.chunk)


if __name__ == '__main__':
    main()
