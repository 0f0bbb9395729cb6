"""Plugin loader: installs each ``sw_<library>`` plugin when its library is first imported.

Upstream imports every plugin and, through it, every library that has a plugin, when the
agent starts. Here the loader imports only the small plugin modules and installs a plugin
at the moment its library is imported by the application (or at once, when the library is
already imported), so an application pays only for the libraries it uses.

A plugin module ``skywalking/plugins/sw_<lib>.py`` declares, at module level:

* ``install()``: patches the library, through `skywalking.plugins._patch.patch` so that the
  loader can undo it (`uninstall`); the loader calls it once per process (again only after an
  `uninstall`). It must not assume anything more than that the hooked module has been imported.
* ``component`` (required): the `skywalking.Component` the plugin reports (a list when it
  reports several, e.g. a producer and a consumer id). A plugin without it is left out with a
  warning: the generated plugin table and the test runner read it.
* ``hooked_modules: list[str]``: the modules whose import triggers ``install()``, e.g.
  ``['flask']`` or ``['http.server', 'werkzeug.serving']``. Without it (or when empty) the
  plugin is installed when the loader runs, as upstream does.
* ``version_rule`` (optional): ``{'name': <distribution>, 'rules': [...]}``; each rule is a
  space-separated list of ``<op><version>`` units (op one of ``< <= == >= > !=``), all of
  which must hold; one rule holding is enough. A distribution that is not installed counts
  as supported, as upstream.
* ``support_matrix``: ``{<distribution>: {'>=3.10': [versions]}}``, the versions the plugin
  supports and is tested on (``tools/plugin_matrix.py`` installs each one; ``tools/gen_docs.py``
  lists them).
* ``link_vector``, ``note``: documentation, read by ``tools/gen_docs.py``.

The plugin module itself must not import its library at module level.

Failures stay inside the agent: a plugin whose ``install()`` raises is reported by one
warning and left out; an unsupported library version is reported by one info line.
"""

import importlib
import logging
import pkgutil
import re
import sys
import threading
from types import ModuleType

from skywalking import config
from skywalking.loggings import logger
from skywalking.plugins import _patch
from skywalking.plugins._import_watch import Watch, is_loading

_OPERATORS = {
    '<': lambda current, expected: current < expected,
    '<=': lambda current, expected: current <= expected,
    '==': lambda current, expected: current == expected,
    '>=': lambda current, expected: current >= expected,
    '>': lambda current, expected: current > expected,
    '!=': lambda current, expected: current != expected,
}
_RULE_UNIT = re.compile(r'^\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$')


class VersionRuleError(ValueError):
    """A ``version_rule`` unit that is not ``<op><version>``."""


def parse_version(text: str):
    """A comparable version: `packaging.version.Version` when available, else a simple key.

    The fallback key orders release numbers numerically and puts pre-releases (``a``, ``b``,
    ``rc``, ``dev``) before the release they precede.
    """
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:
        return _simple_version(text)
    try:
        return Version(text)
    except InvalidVersion:
        return _simple_version(text)


_SIMPLE = re.compile(r'(\d+(?:\.\d+)*)(?:[.-]?(dev|a|alpha|b|beta|rc|c|pre|preview)\.?(\d*))?', re.IGNORECASE)
_PRE_RANK = {'dev': 0, 'a': 1, 'alpha': 1, 'b': 2, 'beta': 2, 'c': 3, 'rc': 3, 'pre': 3, 'preview': 3}


class _SimpleVersion(tuple):
    """(release numbers padded to 6 parts, pre-release rank, pre-release number)."""


def _simple_version(text: str) -> _SimpleVersion:
    match = _SIMPLE.search(str(text).lstrip('vV'))
    if not match:
        raise VersionRuleError(f'not a version: {text!r}')
    release = [int(part) for part in match.group(1).split('.')][:6]
    release += [0] * (6 - len(release))
    if match.group(2):
        pre = (_PRE_RANK[match.group(2).lower()], int(match.group(3) or 0))
    else:
        pre = (9, 0)
    return _SimpleVersion((*release, *pre))


def check(rule_unit: str, current_version) -> bool:
    """Whether `current_version` (parsed) satisfies one unit such as ``'>=2.0'``.

    Raises `VersionRuleError` for a unit without a known operator (as upstream).
    """
    match = _RULE_UNIT.match(rule_unit)
    if not match:
        raise VersionRuleError(f'version rule {rule_unit!r}: expected <op><version>, op one of < <= == >= > !=')
    operator, expected = match.groups()
    expected_version = parse_version(expected)
    if isinstance(current_version, str):
        current_version = parse_version(current_version)
    if type(current_version) is not type(expected_version):
        # One side is not a valid PEP 440 version: compare both the simple way.
        current_version = _simple_version(str(current_version))
        expected_version = _simple_version(expected)
    return _OPERATORS[operator](current_version, expected_version)


def pkg_version_check(plugin) -> bool:
    """Whether the installed version of the plugin's library satisfies its ``version_rule``."""
    rule = getattr(plugin, 'version_rule', None)
    if not rule:
        return True
    name = rule.get('name')
    rules = rule.get('rules') or []
    # Imported here, when a library with a rule is first imported: importlib.metadata brings
    # email, zipfile, pathlib and csv, 6-7 MB of memory and ~15 ms that an application
    # without such a library need not pay at start.
    from importlib import metadata

    try:
        installed_version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return True  # as upstream: cannot tell, so let install() try
    current = parse_version(installed_version)
    for alternative in rules:
        if all(check(unit, current) for unit in alternative.split()):
            return True
    return False


class _Plugin:
    """Loader state of one plugin module."""

    __slots__ = ('module', 'name', 'package', 'state')

    def __init__(self, name: str, package: str, module: ModuleType):
        self.name = name
        self.package = package
        self.module = module
        # pending -> installing -> installed | unsupported | failed; pending -> unhooked
        self.state = 'pending'


_lock = threading.RLock()
_plugins: dict[str, _Plugin] = {}  # full module name -> state
_watched: dict[str, list[_Plugin]] = {}  # hooked module name -> plugins waiting for it
_installed: list[_Plugin] = []


def _package_name(package) -> str:
    if package is None:
        return __name__
    return package if isinstance(package, str) else package.__name__


def installed(package=None) -> list[str]:
    """Short names (``sw_flask``, ...) of the plugins of `package` (default: this package,
    ``skywalking.plugins``; a module or its name) installed in this process, in order."""
    name = _package_name(package)
    with _lock:
        return [plugin.name for plugin in _installed if plugin.package == name]


def pending(package=None) -> list[str]:
    """Short names of the plugins of `package` still waiting for their library to be imported."""
    name = _package_name(package)
    with _lock:
        return [plugin.name for plugin in _plugins.values() if plugin.state == 'pending' and plugin.package == name]


def _disable_patterns() -> list:
    raw = config.agent_disable_plugins
    items = raw.split(',') if isinstance(raw, str) else list(raw or ())
    patterns = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            patterns.append(re.compile(text))
        except re.error as error:
            logger.warning('Ignoring invalid agent_disable_plugins pattern %r: %s', text, error)
    return patterns


def install(package: ModuleType | None = None) -> None:
    """Discover the ``sw_*`` plugins of `package` (default: this package) and install or hook them.

    Calling it again only handles plugins not seen before; it never raises.
    """
    package = package if package is not None else sys.modules[__name__]
    try:
        _install_package(package)
    except Exception:
        logger.warning('Plugin discovery in %s failed; plugins may be missing', package.__name__, exc_info=True)


def _install_package(package: ModuleType) -> None:
    disabled = _disable_patterns()
    for module_info in pkgutil.iter_modules(package.__path__):
        short_name = module_info.name
        if not short_name.startswith('sw_'):
            continue
        full_name = f'{package.__name__}.{short_name}'
        with _lock:
            if full_name in _plugins:
                continue
        if any(pattern.match(short_name) for pattern in disabled):
            logger.info("Plugin %s is disabled and thus won't be installed", short_name)
            continue
        try:
            module = importlib.import_module(full_name)
        except Exception:
            logger.warning('Plugin %s could not be imported; it is left out', short_name, exc_info=_debug())
            continue
        if not callable(getattr(module, 'install', None)):
            logger.warning("Plugin %s has no install() function, thus won't be installed", short_name)
            continue
        if getattr(module, 'component', None) is None:
            logger.warning("Plugin %s declares no component, thus won't be installed", short_name)
            continue
        plugin = _Plugin(short_name, package.__name__, module)
        with _lock:
            _plugins[full_name] = plugin
        hooked = [str(name) for name in (getattr(module, 'hooked_modules', None) or ())]
        if not hooked:
            _activate(plugin)
            continue
        # Watch first, then look: an import racing in another thread is then either seen
        # here as finished or reported by the hook, never missed.
        with _lock:
            for name in hooked:
                _watched.setdefault(name, []).append(plugin)
            _watch.start()
        if any(_imported(name) for name in hooked):
            _activate(plugin)
        else:
            logger.debug('Plugin %s waits for %s', short_name, ', '.join(hooked))


def _imported(name: str) -> bool:
    """Whether `name` is imported and not still being executed through the hook."""
    module = sys.modules.get(name)
    if module is None:
        return False
    return not is_loading(module)


def _debug() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


def _activate(plugin: _Plugin) -> None:
    """Version-check and install `plugin` once; never raises."""
    with _lock:
        if plugin.state != 'pending':
            return
        plugin.state = 'installing'
        _forget(plugin)
    try:
        supported = pkg_version_check(plugin.module)
    except Exception as error:
        logger.warning('Plugin %s has an unusable version_rule (%s); installing it anyway', plugin.name, error)
        supported = True
    if not supported:
        rule = plugin.module.version_rule
        logger.info(
            "Plugin %s does not support the installed %s version (rules %s), thus won't be installed",
            plugin.name,
            rule.get('name'),
            rule.get('rules'),
        )
        plugin.state = 'unsupported'
        return
    try:
        with _patch.installing(_full_name(plugin)):
            plugin.module.install()
    except Exception:
        plugin.state = 'failed'
        # What it patched before failing would run half a plugin: take it back.
        _patch.unpatch_plugin(_full_name(plugin))
        logger.warning(
            'Plugin %s failed to install, please ignore this warning if the package is not used in your application.',
            plugin.name,
            exc_info=_debug(),
        )
        return
    plugin.state = 'installed'
    with _lock:
        _installed.append(plugin)
    logger.debug('Plugin %s installed', plugin.name)


def _full_name(plugin: _Plugin) -> str:
    return f'{plugin.package}.{plugin.name}'


def uninstall(name: str | None = None, package=None) -> list[str]:
    """Restores everything the plugin `name` (``sw_flask``; every plugin of `package` when
    None) patched, and forgets it, so that a later `install()` installs it again (at once when
    its library is imported, else on that import). Returns the short names uninstalled.
    Never raises.
    """
    package_name = _package_name(package)
    done = []
    with _lock:
        chosen = [
            plugin
            for full_name, plugin in _plugins.items()
            if plugin.package == package_name and (name is None or name in (plugin.name, full_name))
        ]
        for plugin in chosen:
            _forget(plugin)
            _plugins.pop(_full_name(plugin), None)
            if plugin in _installed:
                _installed.remove(plugin)
    for plugin in chosen:
        try:
            _patch.unpatch_plugin(_full_name(plugin))
        except Exception:
            logger.warning('Plugin %s could not be uninstalled completely', plugin.name, exc_info=_debug())
        plugin.state = 'uninstalled'
        done.append(plugin.name)
    if name is None and package_name == __name__:
        # Patches the shared helpers made outside any install (the http.client hook).
        _patch.unpatch_plugin('')
    return done


def _forget(plugin: _Plugin) -> None:
    """Stop watching modules for `plugin` (lock held)."""
    for name in list(_watched):
        waiting = [other for other in _watched[name] if other is not plugin]
        if waiting:
            _watched[name] = waiting
        else:
            del _watched[name]
    if not _watched:
        _watch.stop()


def _on_imported(name: str) -> None:
    """Called right after module `name` has been executed by the import system."""
    with _lock:
        plugins = list(_watched.get(name, ()))
    for plugin in plugins:
        _activate(plugin)


def uninstall_hooks() -> None:
    """Stop waiting for imports: remove the import hook and forget pending plugins."""
    with _lock:
        _watched.clear()
        for plugin in _plugins.values():
            if plugin.state == 'pending':
                plugin.state = 'unhooked'
        _watch.stop()


#: Reports the imports of the modules in `_watched` (see `_import_watch`).
_watch = Watch(_watched, _on_imported)
