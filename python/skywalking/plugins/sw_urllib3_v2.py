"""Exit spans for urllib3 2.x (`RequestMethods.request`, behind `PoolManager.request`,
`urllib3.request()` and connection pools' ``request()``), as `sw_urllib3` for 1.x.

Upstream patches `PoolManager.request` only; patching its base also traces the pools'
``request()`` and `ProxyManager` under the same span and component.
"""

from __future__ import annotations

from skywalking import Component
from skywalking.plugins._patch import patch
from skywalking.plugins.sw_urllib3 import wrap_request

link_vector = ['https://urllib3.readthedocs.io/en/latest/']
component = Component.Urllib3
support_matrix = {'urllib3': {'>=3.10': ['2.0', '2.8']}}
note = 'urllib3 2.x; 1.x is traced by sw_urllib3.'
hooked_modules = ['urllib3']


def install() -> None:
    try:
        from urllib3._request_methods import RequestMethods
    except ImportError:
        return  # urllib3 1.x: sw_urllib3
    patch(RequestMethods, 'request', wrap_request)
