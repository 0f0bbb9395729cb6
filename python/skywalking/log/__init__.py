"""The log reporter and trace ids in the application's log records.

`install()` replaces `logging.Logger.handle` (as upstream does). Before the application's
handlers run, every record gets the active trace's ids as attributes:

* ``tid``: the trace id, ``N/A`` outside a trace (upstream's ``%(tid)s``);
* ``sw_trace_id``, ``sw_segment_id``: the ids, empty strings outside a trace;
* ``sw_span_id``: the active span's id, -1 outside a trace.

So ``%(tid)s`` or ``%(sw_trace_id)s`` work in any `logging.Formatter`, and structured
formatters (python-json-logger, structlog's ``ProcessorFormatter``) find them on the record.

When the log reporter is on (``agent_log_reporter_active``), records at or above
``agent_log_reporter_level`` that pass the logger's filters (unless
``agent_log_reporter_ignore_filter``) are captured natively and sent in the background; the
agent's own loggers are never reported.
"""

from __future__ import annotations

import logging
import traceback

from skywalking import config
from skywalking.loggings import logger, resolve_level


def format_exception(exc_info) -> str:
    """A record's ``exc_info`` as text, at most ``agent_cause_exception_depth`` entries."""
    try:
        limit = int(config.agent_cause_exception_depth)
    except (TypeError, ValueError):
        limit = None
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or len(exc_info) != 3:
        return str(exc_info)
    return ''.join(traceback.format_exception(exc_info[0], exc_info[1], exc_info[2], limit=limit))


def reporter_level() -> int:
    """``agent_log_reporter_level`` as a number (WARNING, with a warning, when unknown)."""
    try:
        return resolve_level(config.agent_log_reporter_level)
    except ValueError:
        logger.warning('Unknown agent_log_reporter_level %r; using WARNING', config.agent_log_reporter_level)
        return logging.WARNING


def install() -> None:
    """Intercept `logging.Logger.handle` (again after a config change: it is idempotent)."""
    from skywalking import _core

    original = logging.Logger.handle
    original = getattr(original, '__wrapped__', original) if getattr(original, '_skywalking', False) else original
    _core.install_log_hook(
        original,
        bool(config.agent_log_reporter_active),
        reporter_level(),
        bool(config.agent_log_reporter_ignore_filter),
        bool(config.agent_log_reporter_formatted),
        str(config.agent_log_reporter_layout or ''),
        format_exception,
    )
    handle_log = _core.handle_log

    def handle(self, record):
        return handle_log(self, record)

    handle._skywalking = True  # type: ignore[attr-defined]
    handle.__wrapped__ = original  # type: ignore[attr-defined]
    handle.__doc__ = original.__doc__
    logging.Logger.handle = handle  # type: ignore[method-assign]


def uninstall() -> None:
    """Give `logging.Logger.handle` back."""
    current = logging.Logger.handle
    if getattr(current, '_skywalking', False):
        logging.Logger.handle = current.__wrapped__  # type: ignore[attr-defined]


def trace_ids() -> tuple[str, str, int] | None:
    """(trace id, segment id, span id) of the active span, or None outside a trace: for
    logging libraries that do not go through `logging` (a loguru patcher, a structlog processor)."""
    from skywalking import _core

    return _core.trace_ids()


def structlog_processor(_logger, _method, event_dict: dict) -> dict:
    """A structlog processor adding ``trace_id``, ``segment_id`` and ``span_id`` to each event."""
    ids = trace_ids()
    if ids is not None:
        event_dict['trace_id'], event_dict['segment_id'], event_dict['span_id'] = ids
    return event_dict


__all__ = ['format_exception', 'install', 'structlog_processor', 'trace_ids', 'uninstall']
