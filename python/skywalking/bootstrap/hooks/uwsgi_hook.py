"""Post-fork hook for uWSGI, injected by ``sw-python run -p uwsgi ...``.

The CLI sets one of the ``UWSGI_SHARED_*IMPORT`` variables to ``uwsgi_hook``, so uWSGI
imports this module (from the hooks directory on ``PYTHONPATH``) in the master, and
``@postfork`` runs `setup_skywalking` in every worker after the fork. The master itself runs
no agent: threads started before the fork would not survive in the workers.
"""

import os

from skywalking.loggings import logger


def setup_skywalking() -> None:
    """Start the agent in this forked worker as instance ``<instance>-child(<pid>)``; never raises."""
    try:
        from skywalking import agent, config

        config.agent_instance_name = f'{config.agent_instance_name}-child({os.getpid()})'
        agent.start()
        logger.info(
            'SkyWalking agent started in uWSGI worker %d: service %s, instance %s',
            os.getpid(),
            config.agent_name,
            config.agent_instance_name,
        )
    except Exception:
        logger.exception('The SkyWalking agent failed to start in uWSGI worker %d', os.getpid())


try:
    from uwsgidecorators import postfork
except ImportError:
    # Not inside uWSGI (or uWSGI without the Python decorators): nothing to hook.
    logger.warning('uwsgi_hook imported outside uWSGI; the agent is not started by it')
else:
    setup_skywalking = postfork(setup_skywalking)
