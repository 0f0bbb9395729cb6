"""Python helpers the native core calls when a span records an error."""

import traceback

from skywalking import config
from skywalking.utils.filter import sw_filter, sw_traceback


def _limit():
    try:
        return int(config.agent_cause_exception_depth)
    except (TypeError, ValueError):
        return None


def format_exception(error: BaseException) -> str:
    """`error` with its traceback, at most `agent_cause_exception_depth` entries, filtered."""
    text = ''.join(traceback.format_exception(type(error), error, error.__traceback__, limit=_limit()))
    return sw_filter(text)


def current_traceback() -> str:
    """The exception being handled, as `Span.raised()` records it."""
    return sw_traceback()
