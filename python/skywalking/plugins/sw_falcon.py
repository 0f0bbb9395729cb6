"""Entry spans for Falcon 2 WSGI applications (`falcon.API.__call__`), as hug 2.5 and 2.6
serve them: upstream's legacy ``sw_falcon`` plugin.

The same data as `sw_falcon_v3`: operation ``req.path``, ``http.method``, ``http.url``,
``http.params`` always (the query's arguments), ``http.status_code`` and ``http.status_msg``
from the status line, peer ``REMOTE_ADDR``. Falcon 2 handles no exception of its own
besides its HTTP errors: a handler's exception leaves ``API.__call__`` (the WSGI server
answers 500), and the span records it with its traceback and no status, as upstream.

Falcon 3 keeps ``falcon.API`` as a deprecated subclass of ``falcon.App``, which
`sw_falcon_v3` traces: this plugin refuses Falcon 3 and later (``version_rule``), and patches
``API.__call__`` only where ``API`` defines it itself, so one request never gets two spans.
"""

from __future__ import annotations

from skywalking import Component
from skywalking.plugins._patch import patch
from skywalking.plugins.sw_falcon_v3 import wrap_call

link_vector = ['https://hugapi.github.io/hug/', 'https://falcon.readthedocs.io/en/stable/']
component = Component.Falcon
support_matrix = {'hug': {'>=3.10': ['2.5', '2.6']}}
note = 'hug 2.5/2.6 on Falcon 2 (falcon.API); Falcon 3 and 4 are sw_falcon_v3.'
hooked_modules = ['falcon']
version_rule = {'name': 'falcon', 'rules': ['<3.0']}


def install() -> None:
    import falcon

    api = getattr(falcon, 'API', None)
    if api is None or '__call__' not in vars(api):
        return  # falcon.App's subclass (Falcon 3): sw_falcon_v3's
    patch(api, '__call__', wrap_call)
