"""Patching with symmetry: every attribute a plugin replaces can be put back.

`patch(owner, name, wrapper)` replaces ``owner.<name>`` with ``wrapper(original)`` and records
what was there, under the plugin the loader is installing at that moment (see
`skywalking.plugins.uninstall`); `patch_item(mapping, key, wrapper)` does the same for an
entry of a mapping. The rules:

* The original is read from ``owner.__dict__``: an attribute that `owner` inherits is
  restored by deleting the override, so the class again sees its base's attribute.
* Patching an attribute that is already one of ours (on `owner` or inherited from a patched
  base) is a no-op: `install()` can run twice, and a subclass is not wrapped a second time.
* A ``staticmethod`` or ``classmethod`` is unwrapped for `wrapper` and its replacement wrapped
  the same way again.
* Two plugins patching the same attribute (the `http.client` hook several HTTP clients use)
  share one replacement; it is restored when the last of them is uninstalled.
* Restoring leaves alone an attribute that someone else replaced after us (their wrapper
  calls ours; putting the original back would drop theirs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

from skywalking.loggings import logger

#: Set on every replacement this module installs (when the object takes attributes).
MARKER = '_sw_patch'

_MISSING = object()
_lock = threading.RLock()
_installing = threading.local()


class _Record:
    __slots__ = ('had_own', 'item', 'name', 'on_restore', 'original', 'owner', 'plugins', 'replacement')

    def __init__(self, owner: Any, name: Any, had_own: bool, original: Any, replacement: Any, item: bool = False):
        self.on_restore: Callable[[], None] | None = None
        #: `owner` is a mapping and `name` one of its keys (`patch_item`).
        self.item = item
        self.owner = owner
        self.name = name
        self.had_own = had_own
        self.original = original
        self.replacement = replacement
        self.plugins: list[str] = []


#: (id(owner), name) -> record, for every attribute (or mapping entry) currently patched.
_records: dict[tuple[int, Any], _Record] = {}
#: Replacement objects that are ours, by id (for objects that take no attributes).
_ours: dict[int, _Record] = {}


def current_plugin() -> str:
    """The plugin on whose behalf patches are recorded now ('' outside an install)."""
    return getattr(_installing, 'name', '')


class installing:
    """``with installing('sw_flask'):`` records the patches made inside under that plugin."""

    __slots__ = ('name', 'previous')

    def __init__(self, name: str):
        self.name = name
        self.previous = ''

    def __enter__(self) -> installing:
        self.previous = current_plugin()
        _installing.name = self.name
        return self

    def __exit__(self, *exc: object) -> None:
        _installing.name = self.previous


def is_ours(value: Any) -> bool:
    """Whether `value` is a replacement made by `patch` (and not restored since)."""
    if value is None:
        return False
    inner = getattr(value, '__func__', value)  # staticmethod / classmethod / bound method
    try:
        if getattr(inner, MARKER, False):
            return True
    except Exception:
        pass
    return id(inner) in _ours


def patch(
    owner: Any,
    name: str,
    wrapper: Callable[[Any], Any],
    on_restore: Callable[[], None] | None = None,
    plugin: str | None = None,
) -> bool:
    """Replaces ``owner.<name>`` with ``wrapper(original)``; True when this call patched it.

    `wrapper` receives the attribute as it would be called (the function under a
    ``staticmethod``/``classmethod``, or the inherited attribute) and returns its replacement.
    Raises `AttributeError` when `owner` has no such attribute: a plugin's ``install()`` then
    fails and the loader reports it, as for any library it does not fit. `on_restore` is
    called after the original is put back (a helper that caches "hooked" resets it there).
    `plugin` names the owner of the record when the patch is made outside ``install()`` (a
    handler class wrapped when it first serves): pass what `current_plugin()` said then.
    """
    if plugin is None:
        plugin = current_plugin()
    with _lock:
        key = (id(owner), name)
        record = _records.get(key)
        own = _own_value(owner, name)
        if record is not None and own is record.replacement:
            if plugin not in record.plugins:
                record.plugins.append(plugin)
            return False
        current = getattr(owner, name)  # AttributeError: nothing to patch
        if is_ours(current):
            return False  # inherited from a patched base: already traced
        descriptor = type(own) if isinstance(own, (staticmethod, classmethod)) else None
        function = own.__func__ if descriptor is not None else (current if own is _MISSING else own)
        replacement = _marked(wrapper(function), function)
        installed = descriptor(replacement) if descriptor is not None else replacement
        setattr(owner, name, installed)
        _record(_Record(owner, name, own is not _MISSING, own, installed), replacement, on_restore, plugin)
        return True


def patch_item(
    mapping: MutableMapping[Any, Any],
    key: Hashable,
    wrapper: Callable[[Any], Any],
    on_restore: Callable[[], None] | None = None,
    plugin: str | None = None,
) -> bool:
    """`patch` for an entry of a mapping: ``mapping[key]`` becomes ``wrapper(mapping[key])``,
    recorded and restored like an attribute. For a library that looks its functions up in a
    table of its own (h11 picks a connection's writer from ``h11._writers.WRITERS``), where
    replacing the module's attribute would change nothing. Raises `KeyError` when there is
    no such entry."""
    if plugin is None:
        plugin = current_plugin()
    with _lock:
        record = _records.get((id(mapping), key))
        current = mapping[key]  # KeyError: nothing to patch
        if record is not None and current is record.replacement:
            if plugin not in record.plugins:
                record.plugins.append(plugin)
            return False
        if is_ours(current):
            return False
        replacement = _marked(wrapper(current), current)
        mapping[key] = replacement
        _record(_Record(mapping, key, True, current, replacement, item=True), replacement, on_restore, plugin)
        return True


def _marked(replacement: Any, original: Any) -> Any:
    try:
        setattr(replacement, MARKER, True)
        if getattr(replacement, '__wrapped__', None) is None:
            replacement.__wrapped__ = original
    except (AttributeError, TypeError):
        pass
    return replacement


def _record(record: _Record, replacement: Any, on_restore: Callable[[], None] | None, plugin: str) -> None:
    record.on_restore = on_restore
    record.plugins.append(plugin)
    _records[(id(record.owner), record.name)] = record
    _ours[id(replacement)] = record


def _own_value(owner: Any, name: str) -> Any:
    try:
        return vars(owner).get(name, _MISSING)
    except TypeError:  # no __dict__ (slots): treat as own
        return getattr(owner, name, _MISSING)


def unpatch_plugin(plugin: str | None) -> int:
    """Restores what `plugin` patched (every plugin's when None); returns how many were restored."""
    restored = 0
    with _lock:
        for key, record in reversed(list(_records.items())):
            if plugin is None:
                record.plugins.clear()
            elif plugin in record.plugins:
                record.plugins.remove(plugin)
            else:
                continue
            if record.plugins:
                continue  # another plugin still relies on it
            del _records[key]
            inner = getattr(record.replacement, '__func__', record.replacement)
            _ours.pop(id(inner), None)
            if _restore(record):
                restored += 1
            if record.on_restore is not None:
                try:
                    record.on_restore()
                except Exception:
                    logger.debug('on_restore of %s failed', record.name, exc_info=True)
    return restored


def _restore(record: _Record) -> bool:
    if record.item:
        return _restore_item(record)
    if _own_value(record.owner, record.name) is not record.replacement:
        logger.debug(
            'Not restoring %s.%s: replaced again by someone else after the agent',
            getattr(record.owner, '__name__', record.owner),
            record.name,
        )
        return False
    try:
        if record.had_own:
            setattr(record.owner, record.name, record.original)
        else:
            delattr(record.owner, record.name)
    except Exception:
        logger.warning('Could not restore %s.%s', getattr(record.owner, '__name__', record.owner), record.name)
        return False
    return True


def _restore_item(record: _Record) -> bool:
    mapping = record.owner
    if mapping.get(record.name, _MISSING) is not record.replacement:
        logger.debug('Not restoring the entry %r: replaced again by someone else after the agent', record.name)
        return False
    mapping[record.name] = record.original
    return True


def patched(plugin: str | None = None) -> list[tuple[Any, Any]]:
    """``(owner, name)`` of the attributes (``(mapping, key)`` of the entries) patched for
    `plugin` (all when None)."""
    with _lock:
        return [
            (record.owner, record.name) for record in _records.values() if plugin is None or plugin in record.plugins
        ]
