"""`skywalking.plugins._patch` and `skywalking.plugins.uninstall`: what a plugin patches can
be put back exactly, and a plugin can be installed again afterwards."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid

import pytest

from skywalking import config, plugins
from skywalking.plugins import _patch
from skywalking.plugins._patch import installing, is_ours, patch, patch_item, patched, unpatch_plugin


def _counting(calls):
    def wrapper(original):
        def replacement(*args, **kwargs):
            calls.append(args)
            return original(*args, **kwargs)

        return replacement

    return wrapper


@pytest.fixture
def owner_name():
    name = f'test-{uuid.uuid4().hex[:8]}'
    yield name
    unpatch_plugin(name)


def test_own_attribute_is_wrapped_and_restored(owner_name):
    class Lib:
        def run(self, x):
            return x * 2

    original = Lib.__dict__['run']
    calls = []
    with installing(owner_name):
        assert patch(Lib, 'run', _counting(calls)) is True
    assert Lib().run(3) == 6 and len(calls) == 1
    assert Lib.run.__wrapped__ is original and is_ours(Lib.run)
    assert unpatch_plugin(owner_name) == 1
    assert Lib.__dict__['run'] is original
    assert not is_ours(Lib.run)


def test_inherited_attribute_is_restored_by_deleting_the_override(owner_name):
    class Base:
        def run(self):
            return 'base'

    class Child(Base):
        pass

    with installing(owner_name):
        patch(Child, 'run', _counting([]))
    assert 'run' in Child.__dict__
    unpatch_plugin(owner_name)
    assert 'run' not in Child.__dict__
    assert Child().run() == 'base'


def test_patching_twice_is_a_no_op_and_a_subclass_of_a_patched_class_is_not_wrapped_again(owner_name):
    class Base:
        def run(self):
            return 1

    class Child(Base):
        pass

    calls = []
    with installing(owner_name):
        assert patch(Base, 'run', _counting(calls)) is True
        assert patch(Base, 'run', _counting(calls)) is False
        assert patch(Child, 'run', _counting(calls)) is False
    Child().run()
    assert len(calls) == 1


def test_static_and_class_methods_keep_their_kind(owner_name):
    class Lib:
        @staticmethod
        def double(x):
            return 2 * x

        @classmethod
        def name(cls):
            return cls.__name__

    calls = []
    with installing(owner_name):
        patch(Lib, 'double', _counting(calls))
        patch(Lib, 'name', _counting(calls))
    assert isinstance(Lib.__dict__['double'], staticmethod)
    assert isinstance(Lib.__dict__['name'], classmethod)
    assert Lib.double(4) == 8 and Lib().double(1) == 2 and Lib.name() == 'Lib'
    assert len(calls) == 3
    unpatch_plugin(owner_name)
    assert Lib.double(4) == 8 and not is_ours(Lib.__dict__['double'].__func__)


def test_module_functions_are_patched_and_restored(owner_name):
    module = type(sys)('fake_module_for_patch')
    module.connect = lambda: 'connected'
    original = module.connect
    with installing(owner_name):
        patch(module, 'connect', _counting([]))
    assert module.connect is not original
    unpatch_plugin(owner_name)
    assert module.connect is original


def test_a_shared_patch_stays_until_its_last_plugin_is_uninstalled():
    class Lib:
        def send(self):
            return 'sent'

    original = Lib.__dict__['send']
    first, second = f'a-{uuid.uuid4().hex[:6]}', f'b-{uuid.uuid4().hex[:6]}'
    with installing(first):
        patch(Lib, 'send', _counting([]))
    with installing(second):
        patch(Lib, 'send', _counting([]))
    unpatch_plugin(first)
    assert is_ours(Lib.__dict__['send'])
    unpatch_plugin(second)
    assert Lib.__dict__['send'] is original


def test_a_later_wrapper_by_someone_else_is_not_clobbered(owner_name):
    class Lib:
        def run(self):
            return 'lib'

    with installing(owner_name):
        patch(Lib, 'run', _counting([]))
    theirs = Lib.run

    def other(self):
        return theirs(self)

    Lib.run = other
    unpatch_plugin(owner_name)
    assert Lib.__dict__['run'] is other


def test_a_missing_attribute_raises_for_the_loader_to_report(owner_name):
    class Lib:
        pass

    with installing(owner_name), pytest.raises(AttributeError):
        patch(Lib, 'absent', _counting([]))


def test_on_restore_runs_when_the_original_is_put_back(owner_name):
    class Lib:
        def run(self):
            return 1

    restored = []
    with installing(owner_name):
        patch(Lib, 'run', _counting([]), on_restore=lambda: restored.append(True))
    unpatch_plugin(owner_name)
    assert restored == [True]


def test_a_mapping_entry_is_wrapped_once_and_restored(owner_name):
    def write(x):
        return x + 1

    table = {('client', 'idle'): write, 'other': len}
    calls = []
    restored = []
    with installing(owner_name):
        assert patch_item(table, ('client', 'idle'), _counting(calls), on_restore=lambda: restored.append(1))
        assert patch_item(table, ('client', 'idle'), _counting(calls)) is False  # already ours
    assert table[('client', 'idle')](1) == 2 and calls == [(1,)]
    assert is_ours(table[('client', 'idle')]) and table['other'] is len
    assert (table, ('client', 'idle')) in patched(owner_name)
    assert unpatch_plugin(owner_name) == 1
    assert table[('client', 'idle')] is write and restored == [1]


def test_a_mapping_entry_replaced_by_someone_else_is_not_clobbered(owner_name):
    table = {'write': len}
    with installing(owner_name):
        patch_item(table, 'write', _counting([]))

    def theirs(x):
        return 0

    table['write'] = theirs
    assert unpatch_plugin(owner_name) == 0
    assert table['write'] is theirs


def test_a_missing_mapping_entry_raises_for_the_loader_to_report(owner_name):
    with installing(owner_name), pytest.raises(KeyError):
        patch_item({}, 'absent', _counting([]))


# --- through the loader --------------------------------------------------------------------

PLUGIN = """
{component}
hooked_modules = [{lib!r}]
installs = []


def install():
    import {lib}
    from skywalking.plugins._patch import patch

    installs.append(1)

    def wrap(original):
        def traced(*args, **kwargs):
            return ('traced', original(*args, **kwargs))

        return traced

    patch({lib}.Client, 'call', wrap)
    patch({lib}, 'helper', wrap)
    {extra}
"""

LIBRARY = """
class Base:
    def call(self):
        return 'called'


class Client(Base):
    pass


def helper():
    return 'helped'
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    names = {'package': f'swpatchplugins_{tag}', 'lib': f'swpatchlib_{tag}'}
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(config, 'agent_disable_plugins', [''])
    (tmp_path / names['package']).mkdir()
    (tmp_path / names['package'] / '__init__.py').write_text('')
    (tmp_path / f'{names["lib"]}.py').write_text(LIBRARY)

    def write(extra='', component='component = 7000'):
        text = PLUGIN.format(lib=names['lib'], extra=extra, component=component)
        (tmp_path / names['package'] / 'sw_lib.py').write_text(textwrap.dedent(text))
        importlib.invalidate_caches()

    names['write'] = write
    yield names
    plugins.uninstall(package=names['package'])
    plugins.uninstall_hooks()
    for name in list(sys.modules):
        if name.split('.')[0] in (names['package'], names['lib']):
            del sys.modules[name]


def test_install_uninstall_install_through_the_loader(package):
    package['write']()
    lib = importlib.import_module(package['lib'])
    plugin_package = importlib.import_module(package['package'])

    plugins.install(plugin_package)
    assert plugins.installed(plugin_package) == ['sw_lib']
    assert lib.Client().call() == ('traced', 'called') and lib.helper() == ('traced', 'helped')
    owners = {(owner, name) for owner, name in _patch.patched(f'{package["package"]}.sw_lib')}
    assert owners == {(lib.Client, 'call'), (lib, 'helper')}

    assert plugins.uninstall('sw_lib', package=plugin_package) == ['sw_lib']
    assert plugins.installed(plugin_package) == []
    assert 'call' not in lib.Client.__dict__
    assert lib.Client().call() == 'called' and lib.helper() == 'helped'

    plugins.install(plugin_package)
    assert lib.Client().call() == ('traced', 'called')
    assert sys.modules[f'{package["package"]}.sw_lib'].installs == [1, 1]


def test_a_plugin_that_fails_halfway_leaves_nothing_patched(package):
    package['write'](extra="raise RuntimeError('library changed')")
    lib = importlib.import_module(package['lib'])
    plugins.install(importlib.import_module(package['package']))
    assert plugins.installed(package['package']) == []
    assert lib.Client().call() == 'called' and lib.helper() == 'helped'


def test_a_plugin_without_component_is_left_out(package):
    package['write'](component='')
    lib = importlib.import_module(package['lib'])
    plugin_package = importlib.import_module(package['package'])
    plugins.install(plugin_package)
    assert plugins.installed(plugin_package) == []
    assert plugins.pending(plugin_package) == []
    assert lib.Client().call() == 'called'
