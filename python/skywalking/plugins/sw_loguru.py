"""loguru records for the log reporter, as upstream's `sw_loguru`: a sink added through
loguru's public `logger.add`, at ``agent_log_reporter_level``, which sees every record loguru
emits at that level (in the thread that logs it, so the active span is the caller's). Each
record is reported with its message, tags ``level``, ``logger`` (``loguru``), ``thread`` and,
with an exception, ``exception`` (the traceback, at most ``agent_cause_exception_depth``
entries).

Applications usually start with ``logger.remove()`` (or ``logger.configure(handlers=...)``,
which calls it) to drop loguru's default handler before adding their own; that removes every
handler, the agent's sink too, and upstream reports nothing from then on. ``Logger.remove`` is
therefore wrapped: after a remove-all, the sink is added again.
"""

from __future__ import annotations

from skywalking import Component, config

link_vector = ['https://pypi.org/project/loguru/']
support_matrix = {'loguru': {'>=3.10': ['0.6.0', '0.7.3']}}
note = 'Needs the log reporter (`agent_log_reporter_active`).'
hooked_modules = ['loguru']
# Reports log records, not spans.
component = Component.Unknown
version_rule = {'name': 'loguru', 'rules': ['>=0.6']}

_handler_id: int | None = None


def install() -> None:
    if not config.agent_log_reporter_active or _handler_id is not None:
        return
    from loguru import _logger, logger

    from skywalking.plugins._patch import patch

    _add_sink(logger)
    patch(_logger.Logger, 'remove', _keeping_the_sink)


def _add_sink(logger) -> None:
    global _handler_id
    from skywalking import _core
    from skywalking.log import format_exception, reporter_level

    report = _core.report_log_record

    def sink(message) -> None:
        record = message.record
        tags = None
        exception = record['exception']
        if exception is not None:
            text = format_exception((exception.type, exception.value, exception.traceback))
            tags = [('exception', text.rstrip('\n'))]
        report(
            record['time'].timestamp(),
            record['message'],
            record['level'].name,
            'loguru',
            record['thread'].name,
            tags,
        )

    _handler_id = logger.add(sink, level=reporter_level(), format='{message}', catch=True)


def _keeping_the_sink(remove):
    def wrapper(self, handler_id=None):
        result = remove(self, handler_id)
        if handler_id is None and _handler_id is not None:
            try:
                _add_sink(self)
            except Exception as error:  # the application's remove() already succeeded
                from skywalking.plugins._common import failed

                failed('sw_loguru', error)
        return result

    return wrapper


def uninstall() -> None:
    """Removes the agent's sink (the loader restores `Logger.remove`)."""
    global _handler_id
    if _handler_id is None:
        return
    from loguru import logger

    try:
        logger.remove(_handler_id)
    except ValueError:
        pass  # already gone
    _handler_id = None
