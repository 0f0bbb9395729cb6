"""Remove credentials from URLs and from text the agent reports.

`sw_urlparse` is what HTTP plugins use for the ``http.url`` tag and the peer; `sw_filter`
and `sw_traceback` clean log text and span tracebacks when
``config.agent_log_reporter_safe_mode`` is on.
"""

import re
import traceback
from urllib.parse import ParseResult, urlparse

from skywalking import config

# Non-greedy on purpose, as upstream: strips up to the first '@' after '://'.
_CREDENTIALS = re.compile(r'://(.*?)@')


def sw_urlparse(url) -> ParseResult:
    """`urllib.parse.urlparse(url)` with ``user:password@`` removed from the netloc.

    Unlike upstream, which rebuilds the netloc from ``hostname`` and ``port``, the host is
    kept as written: its case, IPv6 brackets and an invalid port survive unchanged.
    """
    parsed = urlparse(url)
    netloc = parsed.netloc
    if isinstance(netloc, bytes):
        netloc = netloc.rpartition(b'@')[2]
    else:
        netloc = netloc.rpartition('@')[2]
    return parsed._replace(netloc=netloc)


def http_url_parts(url) -> tuple[str, str, str]:
    """(path or ``/``, netloc, URL) of an outgoing request, credentials removed: the operation
    name, peer and ``http.url`` HTTP client plugins record. The native core asks this only
    for URLs it cannot split itself with certainty (`sw_core::http_url`)."""
    if isinstance(url, (bytes, bytearray)):
        url = bytes(url).decode('utf-8', 'replace')  # as requests decodes a bytes URL
    parsed = sw_urlparse(str(url))
    return parsed.path or '/', parsed.netloc, parsed.geturl()


def sw_filter(target: str) -> str:
    """`target` with ``scheme://user:password@`` turned into ``scheme://`` in safe mode."""
    if config.agent_log_reporter_safe_mode:
        return _CREDENTIALS.sub('://', target)
    return target


def sw_traceback() -> str:
    """The exception being handled, formatted like `traceback.format_exc`, then filtered.

    At most ``config.agent_cause_exception_depth`` stack entries are kept.
    """
    try:
        limit = int(config.agent_cause_exception_depth)
    except (TypeError, ValueError):
        limit = None
    return sw_filter(traceback.format_exc(limit=limit))
