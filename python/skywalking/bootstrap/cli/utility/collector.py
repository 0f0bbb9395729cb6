"""``sw-python collector [args...]``: run the local SkyWalking-protocol collector in the foreground.

The collector lives in the native module; this only hands it the arguments.
"""

import importlib
import sys


def execute(args: list[str]) -> int:
    """Run ``skywalking._core.run_collector(argv)`` and return its exit code.

    ``argv`` follows the C convention: the program name first (``'sw-python collector'``),
    then the arguments given after ``collector``. Without the native module this prints
    one error to stderr and returns 1.
    """
    try:
        _core = importlib.import_module('skywalking._core')
    except ImportError as error:
        print(
            f'sw-python collector: the native module skywalking._core cannot be imported ({error}); '
            'reinstall skywalking-rs with a wheel built for this platform and Python.',
            file=sys.stderr,
        )
        return 1
    run_collector = getattr(_core, 'run_collector', None)
    if run_collector is None:
        print(
            'sw-python collector: this build of skywalking._core has no run_collector(); '
            'reinstall skywalking-rs with the collector included.',
            file=sys.stderr,
        )
        return 1
    try:
        result = run_collector(['sw-python collector', *args])
    except KeyboardInterrupt:
        return 130
    if result is None:
        return 0
    try:
        return int(result)
    except (TypeError, ValueError):
        return 0
