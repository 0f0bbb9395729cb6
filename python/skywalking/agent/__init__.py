"""Agent lifecycle, as upstream's `skywalking.agent`: `agent.start()`, `agent.stop()`.

Starting hands the configuration to the native core once; the core runs the reporter on
a thread of its own. This package starts no Python threads.
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import signal
import socket
import sys
import threading
import time
from typing import cast

from skywalking import config, loggings
from skywalking.loggings import logger


def instance_properties() -> list[tuple[str, str]]:
    """Upstream's instance properties; the native core adds `Process No.` at send time."""
    properties = [('language', 'python'), ('OS Name', os.name)]
    try:
        hostname = socket.gethostname()
        properties.append(('hostname', hostname))
        properties.append(('ipv4', '; '.join(socket.gethostbyname_ex(hostname)[2])))
    except OSError as error:
        logger.debug('could not resolve this host for instance properties: %s', error)
    properties.append(('python_implementation', platform.python_implementation()))
    properties.append(('python_version', platform.python_version()))
    if config.agent_namespace:
        properties.append(('namespace', config.agent_namespace))
    if config.agent_instance_properties_json:
        try:
            custom = json.loads(config.agent_instance_properties_json)
            properties.extend((str(key), str(value)) for key, value in custom.items())
        except (ValueError, AttributeError) as error:
            logger.warning('ignoring SW_AGENT_INSTANCE_PROPERTIES_JSON, not a JSON object: %s', error)
    return properties


def _forked_to_exec() -> bool:
    """Whether this is `subprocess`'s child for a ``preexec_fn``: CPython runs the after-fork
    callbacks there, then the ``preexec_fn``, then closes every descriptor and executes the
    new program. A reporter started in that child would be thrown away by the exec, and its
    threads would meet their descriptors closed under them, which aborts the child (Rust's
    I/O safety check) before the program ever starts."""
    try:
        caller = sys._getframe(2)  # this function's caller is the callback itself
    except ValueError:
        return False
    return caller.f_code.co_name == '_execute_child' and caller.f_globals.get('__name__') == 'subprocess'


class SkyWalkingAgent:
    """The process's agent. `start()` once per process; a forked child restarts it."""

    def __init__(self) -> None:
        self._started_pid: int | None = None
        self._bootstrapped = False
        # Set in a forked child that restarted the agent by itself; a manual start() there
        # (upstream's post_fork recipe) then applies the current config instead of failing.
        self._restarted_after_fork = False
        self._multiprocessing_hooked = False

    @property
    def started(self) -> bool:
        return self._started_pid == os.getpid()

    def start(self) -> None:
        if self.started and not self._restarted_after_fork:
            raise RuntimeError('SkyWalking Python agent has already been started in this process')
        self._restarted_after_fork = False
        from skywalking import _core

        loggings.init()
        if not self._bootstrapped:
            config.finalize()
        options = config.snapshot()
        options['_instance_properties'] = instance_properties()
        # Before the core starts: the reporter renders the layout the hook was given.
        from skywalking import log

        log.install()
        if options.get('agent_meter_reporter_active') and options.get('agent_pvm_meter_reporter_active'):
            from skywalking.meter import pvm

            pvm.install()
        _core.start(options)
        if not self._bootstrapped:
            self._bootstrapped = True
            from skywalking import plugins

            plugins.install()
            atexit.register(self._at_exit)
            os.register_at_fork(before=self._before_fork, after_in_child=self._after_fork_in_child)
            self._flush_on_sigterm()
        self._started_pid = os.getpid()

    def stop(self) -> None:
        """Sends what is queued (within `agent_exit_flush_timeout`) and stops reporting."""
        if self._started_pid is None:
            return
        from skywalking import _core

        # The snapshot's value: converted, or the declared default with a warning.
        timeout = cast(float, config.snapshot()['agent_exit_flush_timeout'])
        if not _core.stop(timeout):
            logger.warning('stopped before everything queued was sent (agent_exit_flush_timeout)')
        self._started_pid = None

    def _at_exit(self) -> None:
        if self.started:
            self.stop()
        self._step_aside()

    @staticmethod
    def _step_aside() -> None:
        """The last thing before the interpreter finalizes: the log hook is removed and the
        native module waits until no thread is inside one of its calls (see
        `_core.close_exit_gate`). Otherwise a daemon thread still serving a request could be
        ended by the interpreter inside such a call, which aborts the whole process."""
        try:
            from skywalking import _core, log

            log.uninstall()
            if not _core.close_exit_gate(1.0):
                logger.debug('a thread was still inside the agent at exit')
        except Exception as error:  # the exit goes on
            logger.debug('could not step aside at exit: %s', error)

    def _flush_on_sigterm(self) -> None:
        """SIGTERM (how containers and process managers stop a process) ends a process at
        once, without atexit, losing what is queued. When the process has no SIGTERM handler
        of its own, the agent installs one that sends what is queued (within
        `agent_exit_flush_timeout`) and then ends the process by SIGTERM as before (same exit
        status, same signal seen by the parent). A handler the application had before, or
        installs later, is left alone; so is an ignored SIGTERM."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        try:
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                return
            signal.signal(signal.SIGTERM, self._on_sigterm)
        except (ValueError, OSError, AttributeError) as error:
            logger.debug('no SIGTERM flush: %s', error)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        try:
            if self.started:
                from skywalking import _core

                try:
                    timeout = float(config.agent_exit_flush_timeout)
                except (TypeError, ValueError):
                    timeout = 5.0
                started = time.monotonic()
                # The bulk while the application still runs (requests in progress finish and
                # are queued too), then the rest with no Python thread running, and the end.
                _core.flush(timeout)
                _core.terminate_after_flush(max(0.1, timeout - (time.monotonic() - started)))
        except Exception as error:  # the process must still end
            logger.warning('flush at SIGTERM failed: %s', error)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    def _after_fork_in_child(self) -> None:
        """Every forked child (os.fork, multiprocessing, gunicorn and uwsgi workers) gets
        a working agent of its own, reporting as instance `<name>-child(<pid>)`."""
        if self._started_pid is None or _forked_to_exec():
            return
        from skywalking import _core

        pid = os.getpid()
        config.agent_instance_name = f'{config.agent_instance_name}-child({pid})'
        try:
            _core.after_fork_in_child(config.agent_instance_name)
            self._started_pid = pid
            self._restarted_after_fork = True
        except Exception as error:  # never break the child
            logger.warning('could not restart the agent in forked child %d: %s', pid, error)
            return

    def _before_fork(self) -> None:
        # multiprocessing ends its forked children with os._exit(), which skips atexit, and
        # clears finalizers registered before its own after-fork callbacks run; so the exit
        # flush is registered from one of those callbacks.
        multiprocessing_util = sys.modules.get('multiprocessing.util')
        if multiprocessing_util is not None and not self._multiprocessing_hooked:
            try:
                multiprocessing_util.register_after_fork(self, SkyWalkingAgent._flush_at_multiprocessing_exit)
                self._multiprocessing_hooked = True
            except Exception as error:
                logger.debug('could not hook multiprocessing children: %s', error)

    def _flush_at_multiprocessing_exit(self) -> None:
        multiprocessing_util = sys.modules.get('multiprocessing.util')
        if multiprocessing_util is not None:
            multiprocessing_util.Finalize(None, self._at_exit, exitpriority=0)


agent = SkyWalkingAgent()
start = agent.start
stop = agent.stop

__all__ = ['SkyWalkingAgent', 'agent', 'start', 'stop']
