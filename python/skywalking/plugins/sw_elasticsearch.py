"""Exit spans for the Elasticsearch client, 7.x (its `Transport.perform_request`, as upstream)
and 8.x and later (`BaseClient.perform_request`, sync and async; upstream's hook no longer
exists there): one span per request the application makes.

Op name ``Elasticsearch/<METHOD><path>``, component Elasticsearch, layer Database, peer the
configured nodes (``host:port``, comma-separated); tags ``db.type`` = Elasticsearch and, with
`plugin_elasticsearch_trace_dsl`, ``db.statement`` = the request body as given (``''`` without
one), as upstream.
"""

from __future__ import annotations

from typing import Any

from skywalking import Component, config
from skywalking._core import db_exit_span as _db_exit_span
from skywalking.plugins._common import has_signature
from skywalking.plugins._patch import patch

link_vector = ['https://github.com/elastic/elasticsearch-py']
component = Component.Elasticsearch
hooked_modules = ['elasticsearch']
support_matrix = {'elasticsearch': {'>=3.10': ['7.13', '7.17', '8.19', '9.5']}}
note = 'Tested against a protocol-level stand-in for Elasticsearch (its HTTP API), not a real cluster.'

_ELASTICSEARCH = int(component)


def _span(method: Any, path: Any, peer: str, body: Any) -> Any:
    statement = None
    if config.plugin_elasticsearch_trace_dsl:
        statement = '' if body is None else body if isinstance(body, (str, bytes)) else str(body)
    return _db_exit_span(f'Elasticsearch/{method}{path}', peer, _ELASTICSEARCH, 'Elasticsearch', None, statement)


def _hosts_peer(hosts: Any) -> str:
    """7.x: the transport's ``hosts``, dicts of ``host`` and ``port``."""
    try:
        return ','.join(f'{host["host"]}:{host.get("port", 9200)}' for host in hosts or ())
    except Exception:
        return ''


def _transport_peer(transport: Any) -> str:
    """`_hosts_peer` of a 7.x transport, kept on it while its ``hosts`` is the same list of
    the same length (`Transport.add_connection` appends to it)."""
    hosts = transport.hosts
    kept = transport.__dict__.get('_sw_peer')
    if kept is not None and kept[0] is hosts and kept[1] == len(hosts):
        return kept[2]
    peer = _hosts_peer(hosts)
    try:
        transport.__dict__['_sw_peer'] = (hosts, len(hosts), peer)
    except TypeError:  # no len(): not kept
        pass
    return peer


def _nodes_peer(client: Any) -> str:
    """8.x and later: the nodes of the client's node pool."""
    try:
        return ','.join(f'{node.config.host}:{node.config.port}' for node in client.transport.node_pool.all())
    except Exception:
        return ''


#: 7.x's `Transport.perform_request`, wrapped with the same parameters when it has these (see
#: `has_signature`): the wrapper runs on every request.
_TRANSPORT_REQUEST = '(self, method, url, headers=None, params=None, body=None)'


def _wrap_transport_request(perform_request):
    if has_signature(perform_request, _TRANSPORT_REQUEST):

        def _sw_perform_request(this, method, url, headers=None, params=None, body=None):
            with _span(method, url, _transport_peer(this), body):
                return perform_request(this, method, url, headers, params, body)

        return _sw_perform_request

    def _sw_perform_request_any(this, method, url, *args, **kwargs):
        body = kwargs['body'] if 'body' in kwargs else (args[2] if len(args) > 2 else None)
        with _span(method, url, _transport_peer(this), body):
            return perform_request(this, method, url, *args, **kwargs)

    return _sw_perform_request_any


def _wrap_client_request(perform_request):
    def _sw_perform_request(this, method, path, *args, **kwargs):
        with _span(method, path, _nodes_peer(this), kwargs.get('body')):
            return perform_request(this, method, path, *args, **kwargs)

    return _sw_perform_request


def _wrap_async_client_request(perform_request):
    async def _sw_perform_request(this, method, path, *args, **kwargs):
        with _span(method, path, _nodes_peer(this), kwargs.get('body')):
            return await perform_request(this, method, path, *args, **kwargs)

    return _sw_perform_request


def install() -> None:
    try:
        from elasticsearch._sync.client._base import BaseClient
    except ImportError:  # 7.x
        from elasticsearch.transport import Transport

        patch(Transport, 'perform_request', _wrap_transport_request)
        return
    patch(BaseClient, 'perform_request', _wrap_client_request)
    try:
        from elasticsearch._async.client._base import BaseClient as AsyncBaseClient
    except ImportError:
        return
    patch(AsyncBaseClient, 'perform_request', _wrap_async_client_request)
