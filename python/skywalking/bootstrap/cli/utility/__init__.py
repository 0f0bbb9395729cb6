"""Sub-command implementations of ``sw-python``."""
