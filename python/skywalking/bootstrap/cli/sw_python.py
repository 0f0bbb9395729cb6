"""Entry point of the ``sw-python`` console script (and of ``python -m sw_python``).

::

    sw-python [-h] [-d/--debug] run [-p/--prefork] <command ...>
    sw-python [-d/--debug] collector [collector arguments ...]

``run`` starts ``<command>`` with the agent attached (through `sitecustomize`); ``collector``
runs the local collector of the native module in the foreground.
"""

import argparse
import logging
import sys

from skywalking.bootstrap import cli_logger
from skywalking.bootstrap.cli import SWRunnerFailure

_DEBUG_FLAGS = ('-d', '--debug')


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='sw-python',
        description='SkyWalking Python agent CLI',
        epilog='Append your command after `run`; the SkyWalking agent is attached to it automatically.',
        allow_abbrev=False,
    )
    parser.add_argument('-d', '--debug', action='store_true', help='print debug logs of the CLI, loader and agent')
    commands = parser.add_subparsers(dest='option', required=True, metavar='{run,collector}')

    run = commands.add_parser('run', help='run a command with the agent attached', allow_abbrev=False)
    run.add_argument(
        '-p',
        '--prefork',
        action='store_true',
        help='[experimental] detect gunicorn or uwsgi as the command and start the agent in every worker process',
    )
    run.add_argument('command', nargs=argparse.REMAINDER, help='your command, e.g. gunicorn app.wsgi')

    # Parsed by hand in main() so that every argument reaches the collector untouched; this
    # entry only documents the sub-command in `sw-python -h`.
    collector = commands.add_parser('collector', help='run the local collector in the foreground', add_help=False)
    collector.add_argument('args', nargs=argparse.REMAINDER, help='arguments of the collector (see `collector --help`)')
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with `argv` (default ``sys.argv[1:]``) and return the exit code.

    ``run`` only returns when the command could not be started (it replaces this process).
    """
    argv = list(sys.argv[1:] if argv is None else argv)

    position = 0
    debug = False
    while position < len(argv) and argv[position] in _DEBUG_FLAGS:
        debug = True
        position += 1
    cli_logger.setLevel(logging.DEBUG if debug else logging.INFO)
    if position < len(argv) and argv[position] == 'collector':
        from skywalking.bootstrap.cli.utility import collector

        return collector.execute(argv[position + 1 :])

    args = _parser().parse_args(argv)
    cli_logger.debug('Arguments received: %s', args)
    if not args.command:
        cli_logger.error('No command given after `run`; see `sw-python -h`.')
        return 1

    from skywalking.bootstrap.cli.utility import runner

    try:
        runner.execute(args.command, experimental_check_prefork=args.prefork)
    except SWRunnerFailure as failure:
        cli_logger.error('Failed to run `%s`: %s', ' '.join(args.command), failure)
        return 1
    return 0  # not reached: execute() replaces the process or raises


def start() -> None:
    """Console-script entry point: ``sw-python = skywalking.bootstrap.cli.sw_python:start``."""
    sys.exit(main())
