"""Tells the plugin loader when a watched module has just been imported.

Two ways, the first where the interpreter allows it:

* **Around importlib's ``_find_spec``** (``importlib._bootstrap._find_spec``, the function the
  import system asks for the spec of every module not in `sys.modules` yet, through all of
  `sys.meta_path`): the spec it found, whichever finder found it, gets a loader that reports
  the import once the module has run. The import system looks the function up by name at
  each import, so replacing it on the module is enough; nothing is added to
  `sys.meta_path`.
* **A finder first on `sys.meta_path`** (`_ImportWatcher`), when ``_find_spec`` is not there
  or the import system does not call it by that name (an interpreter whose importlib
  differs).

Why not always the finder: an import that fails goes through every finder on
`sys.meta_path`, and each one costs a turn of importlib's loop in Python (its import lock
taken and released, the finder's method looked up and called): about 2,000 instructions.
Libraries do import absent modules again and again (httpcore tries ``import sniffio`` at
every lock it takes, six times per async request, and modern installs no longer have
sniffio), and each such import paid that turn for the agent. Around ``_find_spec`` the same
import costs one call of a small Python function, and an import that succeeds (once per
module) costs the same as before.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from skywalking.loggings import logger

#: Attribute marking our wrapper of ``_find_spec`` (and holding what it wraps).
_WRAPPED = '_sw_wrapped_find_spec'


class Watch:
    """Reports the imports of the names in `watched` (a mapping the caller keeps up to
    date, read without a lock: one ``in`` per import) to `on_imported`, once each module
    has run."""

    def __init__(self, watched: Mapping[str, Any], on_imported: Callable[[str], None]):
        self._watched = watched
        self._on_imported = on_imported
        self._finder: _ImportWatcher | None = None
        #: Whether to wrap ``_find_spec`` (tests turn it off to exercise the finder).
        self.prefer_find_spec = True

    def start(self) -> None:
        """Watches from now on; again after `stop`. Idempotent."""
        if self.prefer_find_spec and _wrap_find_spec(self):
            return
        self._ensure_finder()

    def stop(self) -> None:
        """Stops watching (what is being imported right now may still be reported)."""
        _unwrap_find_spec(self)
        finder, self._finder = self._finder, None
        if finder is not None:
            try:
                sys.meta_path.remove(finder)
            except ValueError:
                pass

    def is_started(self) -> bool:
        return _ours(_bootstrap_module(), self) is not None or self._finder in sys.meta_path

    def notifying(self, spec: Any, name: str) -> Any:
        """`spec` with a loader that reports `name` after running the module, when it will
        be loaded anew (not a module already in `sys.modules`, whose own spec ``_find_spec``
        returns when a parent import got there first, or for a reload)."""
        if name not in self._watched or name in sys.modules:
            return spec
        try:
            loader = spec.loader
            if loader is None or isinstance(loader, _NotifyingLoader) or not hasattr(loader, 'exec_module'):
                return spec
            spec.loader = _NotifyingLoader(loader, name, self._on_imported)
        except Exception:
            logger.debug('Cannot watch the import of %s', name, exc_info=True)
        return spec

    def _ensure_finder(self) -> None:
        """The finder first on `sys.meta_path`: one before it could find a watched module
        without asking it."""
        if self._finder is None:
            self._finder = _ImportWatcher(self)
        if sys.meta_path and sys.meta_path[0] is self._finder:
            return
        try:
            sys.meta_path.remove(self._finder)
        except ValueError:
            pass
        sys.meta_path.insert(0, self._finder)


def is_loading(module: Any) -> bool:
    """Whether `module` is still being executed by an import that will report it."""
    spec = getattr(module, '__spec__', None)
    return isinstance(getattr(spec, 'loader', None), _NotifyingLoader)


# --- around importlib's _find_spec ------------------------------------------------------


def _bootstrap_module() -> Any:
    """``importlib._bootstrap`` when its import path calls ``_find_spec`` by name, else None."""
    bootstrap = sys.modules.get('_frozen_importlib') or sys.modules.get('importlib._bootstrap')
    find_and_load = getattr(bootstrap, '_find_and_load_unlocked', None)
    code = getattr(find_and_load, '__code__', None)
    if not callable(getattr(bootstrap, '_find_spec', None)) or code is None or '_find_spec' not in code.co_names:
        return None
    return bootstrap


def _ours(bootstrap: Any, watch: Watch) -> Any:
    current = getattr(bootstrap, '_find_spec', None)
    wrapped = getattr(current, _WRAPPED, None)
    return current if wrapped is not None and wrapped[1] is watch else None


def _wrap_find_spec(watch: Watch) -> bool:
    bootstrap = _bootstrap_module()
    if bootstrap is None:
        return False
    if _ours(bootstrap, watch) is not None:
        return True
    find_spec = bootstrap._find_spec
    watched = watch._watched
    notifying = watch.notifying

    def _find_spec(name, path, target=None):
        # An unwatched name first, in two lines: libraries import absent modules again and
        # again (httpcore's six `import sniffio` per async request).
        if name not in watched:
            return find_spec(name, path, target)
        spec = find_spec(name, path, target)
        return spec if spec is None else notifying(spec, name)

    setattr(_find_spec, _WRAPPED, (find_spec, watch))
    _find_spec.__doc__ = find_spec.__doc__
    bootstrap._find_spec = _find_spec
    return True


def _unwrap_find_spec(watch: Watch) -> None:
    bootstrap = _bootstrap_module()
    ours = _ours(bootstrap, watch) if bootstrap is not None else None
    if ours is not None:
        bootstrap._find_spec = getattr(ours, _WRAPPED)[0]
    # Wrapped again by someone else since: ours stays under theirs, and reports nothing
    # while nothing is watched.


# --- a finder first on sys.meta_path (fallback) -----------------------------------------


class _ImportWatcher:
    """Meta-path finder that wraps the loader of watched modules; finds nothing itself."""

    def __init__(self, watch: Watch):
        self._watch = watch
        self._busy = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._watch._watched:
            return None
        busy = self._busy.__dict__.setdefault('names', set())
        if fullname in busy:
            return None  # a finder after us asked for the same name again
        busy.add(fullname)
        try:
            spec = self._find_with_others(fullname, path, target)
        finally:
            busy.discard(fullname)
        if spec is None:
            return None
        return self._watch.notifying(spec, fullname)

    def _find_with_others(self, fullname, path, target):
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, 'find_spec', None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def invalidate_caches(self):
        pass


class _NotifyingLoader:
    """Runs the real loader, restores it on the module, then reports the import."""

    def __init__(self, loader, fullname: str, on_imported: Callable[[str], None]):
        self._loader = loader
        self._fullname = fullname
        self._on_imported = on_imported

    def create_module(self, spec):
        create = getattr(self._loader, 'create_module', None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        try:
            self._loader.exec_module(module)
        finally:
            # Leave no trace of the wrapper: code that inspects __loader__ sees the real one.
            if getattr(module, '__loader__', None) is self:
                module.__loader__ = self._loader
            spec = getattr(module, '__spec__', None)
            if spec is not None and spec.loader is self:
                spec.loader = self._loader
        # The import system binds a submodule to its parent only after this returns; do it
        # now so that `import a.b; a.b.x` works inside install().
        parent, _, child = self._fullname.rpartition('.')
        if parent and parent in sys.modules:
            try:
                setattr(sys.modules[parent], child, sys.modules.get(self._fullname, module))
            except Exception:
                pass
        try:
            self._on_imported(self._fullname)
        except Exception:
            logger.warning(
                'Installing plugins for %s failed', self._fullname, exc_info=logger.isEnabledFor(logging.DEBUG)
            )

    def __getattr__(self, name):
        # get_source, get_code, is_package, get_resource_reader, ... of the real loader.
        if name == '_loader':  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self._loader, name)
