"""Language helpers used by the trace API and plugins."""

import base64


def tostring(cls):
    """Class decorator: ``str(obj)`` shows ``Name@id[attr=value, ...]`` (debugging aid, as upstream)."""

    def __str__(self) -> str:
        fields = ', '.join(f'{key}={value}' for key, value in vars(self).items())
        return f'{type(self).__name__}@{id(self)}[{fields}]'

    cls.__str__ = __str__
    return cls


def b64encode(s: str = '') -> str:
    """Standard, padded base64 of the UTF-8 bytes of `s`, as a str (sw8 fields use this)."""
    return base64.b64encode(s.encode('utf8')).decode('utf8')


def b64decode(s: str = '') -> str:
    """Inverse of `b64encode`; raises `binascii.Error` / `UnicodeDecodeError` on bad input."""
    return base64.b64decode(s).decode('utf8')
