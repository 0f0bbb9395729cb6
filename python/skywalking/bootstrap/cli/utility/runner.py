"""``sw-python run``: prepare the environment, then replace this process with the user's command.

The command's Python finds `sitecustomize.py` through ``PYTHONPATH`` and starts the agent;
every variable set here is read by that loader (see ``loader/sitecustomize.py``).
"""

import logging
import os
import platform
import sys

from skywalking.bootstrap import HOOKS_DIR, LOADER_DIR, cli_logger
from skywalking.bootstrap.cli import SWRunnerFailure

#: uWSGI reads any of these as ``--shared-import``-style options; the first one unset is used.
UWSGI_IMPORT_VARIABLES = (
    'UWSGI_SHARED_PYTHON_IMPORT',
    'UWSGI_SHARED_IMPORT',
    'UWSGI_SHARED_PYIMPORT',
    'UWSGI_SHARED_PY_IMPORT',
)


def _program(command: list[str]) -> str:
    # Upstream compares command[0] as written; a path to the same program counts here too.
    return os.path.basename(command[0])


def prefork_handler(command: list[str]) -> None:
    """Export what the loader needs to handle a pre-forking server named by ``command[0]``.

    ``prefork`` is ``gunicorn``, ``uwsgi`` or '' (another program). For uWSGI this also turns
    on ``--master`` and ``--enable-threads`` and has uWSGI import the ``uwsgi_hook`` module,
    which starts the agent in every worker after the fork.
    """
    os.environ['prefork'] = ''
    program = _program(command)
    if program == 'gunicorn':
        cli_logger.info('Gunicorn detected: the agent starts in the master and restarts in every forked worker.')
        os.environ['prefork'] = 'gunicorn'
    elif program == 'uwsgi':
        cli_logger.info('uWSGI detected: the agent starts in every worker after the fork (not in the master).')
        if '--master' not in command[1:]:
            cli_logger.warning('Adding --master to the uWSGI options (UWSGI_MASTER=true): post-fork hooks need it.')
            os.environ['UWSGI_MASTER'] = 'true'
        if '--enable-threads' not in command[1:]:
            cli_logger.warning(
                'Adding --enable-threads to the uWSGI options (UWSGI_ENABLE_THREADS=true): the agent needs threads.'
            )
            os.environ['UWSGI_ENABLE_THREADS'] = 'true'
        os.environ['prefork'] = 'uwsgi'
        for variable in UWSGI_IMPORT_VARIABLES:
            if variable not in os.environ:
                os.environ[variable] = 'uwsgi_hook'
                break
        else:
            raise SWRunnerFailure(
                'No free uWSGI shared-import variable for the post-fork hook (all of '
                f'{", ".join(UWSGI_IMPORT_VARIABLES)} are set); unset one, or start the agent '
                'yourself in a @postfork function.'
            )
    else:
        cli_logger.info('--prefork given, but %r is neither gunicorn nor uwsgi; starting it normally.', command[0])


def build_python_path(current: str | None) -> str:
    """``PYTHONPATH`` with the loader and hooks directories first, the old entries after.

    Upstream drops the old value when the loader is already on it (e.g. ``sw-python run``
    inside ``sw-python run``); here the old entries are kept and only duplicates are removed.
    """
    entries = [LOADER_DIR, HOOKS_DIR]
    for entry in (current or '').split(os.pathsep):
        if entry and entry not in entries:
            entries.append(entry)
    return os.pathsep.join(entries)


def execute(command: list[str], experimental_check_prefork: bool = False) -> None:
    """Set up the environment and `os.execvp` `command`; returns only by raising `SWRunnerFailure`."""
    cli_logger.debug('sw-python run received command %s', command)
    if experimental_check_prefork:
        prefork_handler(command)

    os.environ['PYTHONPATH'] = build_python_path(os.environ.get('PYTHONPATH'))
    cli_logger.debug('PYTHONPATH=%s', os.environ['PYTHONPATH'])

    # The loader compares these with its own interpreter, so that the agent is not started
    # in a Python other than the one sw-python (and so skywalking) is installed in.
    os.environ['SW_PYTHON_PREFIX'] = os.path.realpath(os.path.normpath(sys.prefix))
    os.environ['SW_PYTHON_VERSION'] = platform.python_version()
    os.environ['SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED'] = 'True' if cli_logger.level == logging.DEBUG else 'False'

    cli_logger.debug('Executing %r with arguments %s', command[0], command)
    try:
        os.execvp(command[0], command)
    except OSError as error:
        raise SWRunnerFailure(f'cannot execute {command[0]!r}: {error}') from error
