"""Running programs with the agent attached, without changing their code.

* `cli/`: the ``sw-python`` command (``sw-python run ...``, ``sw-python collector ...``).
* `loader/sitecustomize.py`: put on ``PYTHONPATH`` by ``sw-python run``; Python imports it at
  start-up, and it starts the agent.
* `hooks/uwsgi_hook.py`: imported by uWSGI (``UWSGI_SHARED_*IMPORT``) to start the agent in
  each forked worker.
"""

import logging
import os

#: Directory of `sitecustomize.py`; ``sw-python run`` puts it first on ``PYTHONPATH``.
LOADER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'loader')
#: Directory of `uwsgi_hook.py`; ``sw-python run`` puts it second on ``PYTHONPATH``.
HOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'hooks')


def get_cli_logger() -> logging.Logger:
    """The ``skywalking-cli`` logger, printing to stderr, not propagating."""
    logger = logging.getLogger('skywalking-cli')
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter('%(name)s [%(levelname)s] %(message)s'))
        logger.addHandler(handler)
    logger.propagate = False
    return logger


cli_logger = get_cli_logger()
