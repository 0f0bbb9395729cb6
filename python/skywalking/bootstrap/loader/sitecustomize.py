"""Agent loader for ``sw-python run``.

``sw-python run`` puts this directory first on ``PYTHONPATH``, so every Python process
started from it imports this module at start-up (``site`` imports ``sitecustomize``).
It then, in order:

1. imports the user's own ``sitecustomize`` (the next one on ``sys.path``), if any;
2. unless ``SW_AGENT_SW_PYTHON_BOOTSTRAP_PROPAGATE`` is ``false``, leaves ``PYTHONPATH`` as it
   is, so that child processes get an agent too (else removes this directory from it);
3. checks that this interpreter is the one ``sw-python`` ran in (``SW_PYTHON_VERSION``,
   ``SW_PYTHON_PREFIX``), because the agent installed there may not fit another one;
4. applies ``sw-python -d`` (agent logging at DEBUG) and makes sure ``sys.argv`` exists;
5. starts the agent: in a Gunicorn master as ``<instance>-master(<pid>)`` with fork support
   on (workers restart it after the fork), not at all in a uWSGI master (the
   ``uwsgi_hook`` module starts it in each worker), else normally.

Nothing here raises: the user's program runs whatever happens to the agent. Differences
from upstream: the propagate switch accepts ``false`` in any case (upstream: exactly
``False``); an interpreter mismatch skips the agent instead of ending the process with
``os._exit(1)``, which would kill, e.g., a script run by another Python in a subprocess; a
``sitecustomize`` that is not found is told apart from one that fails while importing.

Only the standard library is used before step 3, and no syntax newer than Python 3.6,
because an interpreter other than the CLI's may run this file.
"""

import importlib
import logging
import os
import platform
import sys


def _loader_logger():
    logger = logging.getLogger('skywalking-loader')
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter('%(name)s [%(threadName)s] [%(levelname)s] %(message)s'))
        logger.addHandler(handler)
    logger.propagate = False
    if os.environ.get('SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED', '').lower() == 'true':
        logger.setLevel(logging.DEBUG)
    return logger


def _same_dir(entry, directory):
    if not isinstance(entry, str) or not entry:
        return False
    return os.path.normcase(os.path.abspath(entry)) == os.path.normcase(directory)


def _chain_user_sitecustomize(logger, loader_dir):
    """Import the next ``sitecustomize`` on ``sys.path``, the one this module hides."""
    sys.path[:] = [entry for entry in sys.path if not _same_dir(entry, loader_dir)]
    ours = sys.modules.pop('sitecustomize', None)
    found = None
    try:
        found = importlib.import_module('sitecustomize')
        logger.debug('Imported the user sitecustomize from %s', getattr(found, '__file__', '?'))
    except ImportError as error:
        if getattr(error, 'name', None) == 'sitecustomize':
            logger.debug('No user sitecustomize found')
        else:
            logger.exception('The user sitecustomize failed to import')
    except Exception:
        logger.exception('The user sitecustomize failed to import')
    # `import sitecustomize` keeps giving the user's module when there is one, as upstream.
    if found is not None:
        sys.modules['sitecustomize'] = found
    elif ours is not None:
        sys.modules['sitecustomize'] = ours


def _apply_propagate_switch(logger, loader_dir):
    if os.environ.get('SW_AGENT_SW_PYTHON_BOOTSTRAP_PROPAGATE', '').lower() != 'false':
        return
    entries = os.environ.get('PYTHONPATH', '').split(os.pathsep)
    kept = [entry for entry in entries if entry and not _same_dir(entry, loader_dir)]
    if len(kept) != len([entry for entry in entries if entry]):
        os.environ['PYTHONPATH'] = os.pathsep.join(kept)
        logger.debug('Removed the loader from PYTHONPATH: child processes will run without an agent')


def _interpreter_matches(logger):
    cli_version = os.environ.get('SW_PYTHON_VERSION')
    cli_prefix = os.environ.get('SW_PYTHON_PREFIX')
    if cli_version is None and cli_prefix is None:
        logger.debug('Not started by sw-python (no SW_PYTHON_VERSION / SW_PYTHON_PREFIX); skipping the check')
        return True
    own_version = platform.python_version()
    own_prefix = os.path.realpath(os.path.normpath(sys.prefix))
    # Windows may report the same prefix with another capitalisation.
    if cli_version == own_version and (cli_prefix or '').lower() == own_prefix.lower():
        return True
    logger.error(
        'sw-python ran in Python %s at %s, but this program runs Python %s at %s; the SkyWalking agent '
        'is not started in it. Run the program with the Python that sw-python is installed in '
        '(`sw-python -d run ...` shows details).',
        cli_version,
        cli_prefix,
        own_version,
        own_prefix,
    )
    return False


def _start_agent(logger):
    from skywalking import config

    if not hasattr(sys, 'argv'):
        # Embedded interpreters may lack argv, and some libraries read it when imported.
        sys.argv = ['']
    if os.environ.get('SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED', '').lower() == 'true':
        config.agent_logging_level = 'DEBUG'

    prefork = os.environ.get('prefork')
    if prefork == 'uwsgi':
        logger.debug('uWSGI master: the agent starts in each worker through uwsgi_hook')
        return
    if prefork == 'gunicorn':
        config.agent_instance_name = f'{config.agent_instance_name}-master({os.getpid()})'
        config.agent_experimental_fork_support = True
        logger.debug('Gunicorn master: starting the agent as %s with fork support', config.agent_instance_name)

    from skywalking import agent

    agent.start()
    logger.debug('SkyWalking agent started in process %d', os.getpid())


def _bootstrap():
    logger = _loader_logger()
    try:
        loader_dir = os.path.dirname(os.path.abspath(__file__))
        logger.debug('Loader %s running in %s (Python %s)', __file__, sys.executable, sys.version)
        _chain_user_sitecustomize(logger, loader_dir)
        _apply_propagate_switch(logger, loader_dir)
        if not _interpreter_matches(logger):
            return
        _start_agent(logger)
    except Exception:
        logger.exception('The SkyWalking agent failed to start; the program runs without it')


_bootstrap()
