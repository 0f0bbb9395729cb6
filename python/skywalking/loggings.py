"""The agent's own logger, named `skywalking`.

It has its own stream handler and does not propagate, so the agent's messages neither
depend on nor disturb the application's logging setup (and the log reporter, which ships
application logs, never sees them). `init()` sets its level from
`config.agent_logging_level`; it is called by `agent.start()`.

This module does not import `skywalking.config` at import time, because `config` logs
through this logger while it reads the environment.
"""

import logging

#: Level above CRITICAL, registered as ``OFF`` so that ``SW_AGENT_LOGGING_LEVEL=OFF`` silences the agent.
OFF = logging.CRITICAL + 10

_FORMAT = '%(name)s [%(threadName)s] [%(levelname)s] %(message)s'

# Cached flag for hot paths that would otherwise build debug messages for nothing.
logger_debug_enabled = False


def getLogger(name=None):
    """Return logger `name` with a stream handler of its own, not propagating to the root."""
    result = logging.getLogger(name)
    if not any(getattr(handler, '_skywalking_handler', False) for handler in result.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._skywalking_handler = True
        result.addHandler(handler)
    result.propagate = False
    return result


logger = getLogger('skywalking')


def resolve_level(level) -> int:
    """Turn a level name (any case, incl. ``WARN``, ``FATAL``, ``OFF``) or number into a number.

    Raises ValueError for an unknown name.
    """
    if isinstance(level, int):
        return level
    name = str(level).strip().upper()
    if name == 'OFF':
        return OFF
    if name.isdigit():
        return int(name)
    value = logging.getLevelName(name)
    if not isinstance(value, int):
        raise ValueError(f'unknown logging level {level!r}')
    return value


def init() -> None:
    """Set the `skywalking` logger's level from `config.agent_logging_level`.

    An unknown level name is reported once and replaced by INFO (upstream raises).
    """
    from skywalking import config

    global logger_debug_enabled
    logging.addLevelName(OFF, 'OFF')
    try:
        level = resolve_level(config.agent_logging_level)
    except ValueError:
        logger.warning(
            'Unknown agent_logging_level %r (SW_AGENT_LOGGING_LEVEL); using INFO',
            config.agent_logging_level,
        )
        level = logging.INFO
    logger.setLevel(level)
    logger_debug_enabled = logger.isEnabledFor(logging.DEBUG)
