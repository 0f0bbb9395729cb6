"""``python -m sw_python ...`` is the same as the ``sw-python`` command."""
