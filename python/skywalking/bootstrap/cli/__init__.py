"""The ``sw-python`` command line."""


class SWRunnerFailure(Exception):
    """The user's command could not be started (as upstream's exception of that name)."""
