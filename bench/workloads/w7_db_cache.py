"""W7: the W1 endpoint doing one PostgreSQL query (psycopg2) and two Redis calls (SET, GET)
per request against the machine's own servers (127.0.0.1:5432 database ``test``, 127.0.0.1:6379).

The connection and the Redis client are made once per process, after the contender started
(as an application with a connection pool does), so that every instrumentation wraps them.
SkyWalking: one segment per request (an entry and three exit spans). OpenTelemetry: four
spans per request (server, psycopg2 query, two Redis commands).
"""

from harness import Contender, measure, parse_args

PG_DSN = 'host=127.0.0.1 port=5432 dbname=test user=postgres'
QUERY = "SELECT name FROM (VALUES (1, 'one'), (2, 'two'), (3, 'three')) AS t(id, name) WHERE id = %s"


def make_app(service: str):
    # Imported after the contender started, so that every instrumentation sees them.
    import flask
    import psycopg2
    import redis

    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    cache = redis.Redis(host='127.0.0.1', port=6379)
    key = f'db:w7:{service}'  # the servers are shared: a key of this process's own
    app = flask.Flask('bench')
    counter = iter(range(1 << 62))

    @app.route('/hello')
    def hello():
        i = next(counter)
        with conn.cursor() as cur:
            cur.execute(QUERY, (i % 3 + 1,))
            row = cur.fetchone()
        cache.set(key, row[0])
        if cache.get(key) != row[0].encode():
            raise RuntimeError('unexpected Redis answer')
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
    contender = Contender(args.contender, args.service, args.backend)
    contender.start()
    if args.contender == 'otel':
        from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        Psycopg2Instrumentor().instrument()
        RedisInstrumentor().instrument()
    per_iteration = 4 if args.contender == 'otel' else 1
    app = make_app(args.service)
    measure(contender, iteration_for(app), args.n, args.warmup, per_iteration, chunk=args.chunk)


if __name__ == '__main__':
    main()
