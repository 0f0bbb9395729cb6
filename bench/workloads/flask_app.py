"""The Flask application of W1 and W2: one endpoint, optionally calling a downstream server."""

from __future__ import annotations


def make_app(downstream: str = ''):
    # Imported here, after the contender started: OpenTelemetry's Flask instrumentation
    # replaces `flask.Flask`, so the class must be looked up after it ran.
    import flask
    import requests

    app = flask.Flask('bench')

    @app.route('/hello')
    def hello():
        if downstream:
            response = requests.get(downstream, timeout=10)
            response.raise_for_status()
        return 'hello'

    return app


def iteration_for(app):
    """One request through the test client, checked so a broken set-up cannot pass as fast."""
    client = app.test_client()

    def iteration(_i: int) -> None:
        response = client.get('/hello')
        if response.status_code != 200:
            raise RuntimeError(f'/hello answered {response.status_code}')

    return iteration


def wsgi_iteration_for(app):
    """One request through the WSGI interface with a fresh environ, as a WSGI server calls
    it (W4's environ): the Flask counterpart of Django's W4 request."""
    from django_app import iteration_for as django_iteration_for

    return django_iteration_for(app)
