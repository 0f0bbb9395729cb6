"""Integrations a user adds by hand: entry spans for web frameworks that have no plugin.

* `skywalking.contrib.wsgi.SkyWalkingMiddleware`: wrap any WSGI application;
* `skywalking.contrib.asgi.SkyWalkingMiddleware`: wrap any ASGI application.
"""
