"""The lazy plugin loader (skywalking.plugins) and the generated docs (tools/gen_docs.py).

Each test builds its own plugin package and library in a temporary directory, with names
unique to the test, so that imports in one test cannot satisfy another.
"""

import importlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap
import types
import uuid
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest
from packaging import version

import skywalking
from skywalking import config, loggings, plugins
from skywalking.plugins import _import_watch

ROOT = Path(__file__).resolve().parents[2]

PLUGIN_TEMPLATE = """
import sys

component = 7000
{metadata}

calls = []


def install():
    lib = sys.modules.get({lib!r})
    calls.append({{'lib_loaded': lib is not None, 'lib_ready': getattr(lib, 'READY', False)}})
{body}
"""

LIBRARY = """
import_count = globals().get('import_count', 0) + 1
VALUE = 'library value'
READY = True
"""


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def messages(self, level):
        return [record.getMessage() for record in self.records if record.levelno == level]


@pytest.fixture
def agent_log():
    handler = _Records()
    previous = loggings.logger.level
    loggings.logger.addHandler(handler)
    loggings.logger.setLevel(logging.DEBUG)
    yield handler
    loggings.logger.removeHandler(handler)
    loggings.logger.setLevel(previous)


class Fixture:
    """A plugin package `self.package_name` and a library `self.lib` under one directory."""

    def __init__(self, root: Path):
        tag = uuid.uuid4().hex[:10]
        self.root = root
        self.package_name = f'fakeplugins_{tag}'
        self.lib = f'fakelib_{tag}'
        (root / self.package_name).mkdir()
        (root / self.package_name / '__init__.py').write_text('')
        self.write_library()

    def write_library(self, body: str = LIBRARY):
        lib_dir = self.root / self.lib
        lib_dir.mkdir(exist_ok=True)
        (lib_dir / '__init__.py').write_text(body)
        (lib_dir / 'sub.py').write_text("SUB_VALUE = 'sub value'\n")
        importlib.invalidate_caches()

    def add_plugin(self, name: str, hooked=None, extra: str = '', body: str = '', raw: str | None = None):
        metadata = extra
        if hooked is not None:
            metadata = f'hooked_modules = {hooked!r}\n{extra}'
        text = (
            raw
            if raw is not None
            else PLUGIN_TEMPLATE.format(
                metadata=metadata, lib=self.lib, body=textwrap.indent(textwrap.dedent(body), '    ')
            )
        )
        (self.root / self.package_name / f'{name}.py').write_text(text)
        importlib.invalidate_caches()

    def add_distribution(self, name: str, dist_version: str):
        dist = self.root / f'{name}-{dist_version}.dist-info'
        dist.mkdir()
        (dist / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {dist_version}\n')
        importlib.invalidate_caches()

    def package(self):
        return importlib.import_module(self.package_name)

    def plugin(self, name: str):
        return sys.modules[f'{self.package_name}.{name}']

    def import_lib(self, submodule: str = ''):
        return importlib.import_module(self.lib + submodule)


@pytest.fixture(params=['find_spec', 'meta_path'])
def fake(request, tmp_path, monkeypatch):
    # Both ways of watching imports: around importlib's _find_spec, and the finder on
    # sys.meta_path that stands in where _find_spec cannot be wrapped.
    monkeypatch.setattr(plugins._watch, 'prefer_find_spec', request.param == 'find_spec')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(config, 'agent_disable_plugins', [''])
    fixture = Fixture(tmp_path)
    yield fixture
    plugins.uninstall_hooks()
    for name in list(sys.modules):
        if name.split('.')[0] in (fixture.package_name, fixture.lib):
            del sys.modules[name]


def watcher_installed() -> bool:
    return plugins._watch.is_started()


# --- laziness ---------------------------------------------------------------------------


def test_library_is_not_imported_at_install_and_plugin_installs_on_first_import(fake):
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())

    assert fake.lib not in sys.modules
    assert 'sw_fakelib' in plugins.pending(fake.package_name)
    assert 'sw_fakelib' not in plugins.installed(fake.package_name)
    assert fake.plugin('sw_fakelib').calls == []
    assert watcher_installed()

    lib = fake.import_lib()

    # install() ran once, after the library had been executed to its end
    assert fake.plugin('sw_fakelib').calls == [{'lib_loaded': True, 'lib_ready': True}]
    assert 'sw_fakelib' in plugins.installed(fake.package_name)
    assert 'sw_fakelib' not in plugins.pending(fake.package_name)
    assert lib.import_count == 1
    # the library keeps its real loader
    assert type(lib.__loader__) is SourceFileLoader
    assert lib.__spec__.loader is lib.__loader__
    # nothing is left waiting, so the import hook is gone
    assert not watcher_installed()

    importlib.reload(lib)
    assert len(fake.plugin('sw_fakelib').calls) == 1


def test_already_imported_library_installs_at_once(fake):
    fake.import_lib()
    fake.add_plugin('sw_fakelib', hooked=['json', fake.lib])
    plugins.install(fake.package())
    assert fake.plugin('sw_fakelib').calls == [{'lib_loaded': True, 'lib_ready': True}]
    assert 'sw_fakelib' in plugins.installed(fake.package_name)


def test_plugin_without_hooked_modules_installs_when_the_loader_runs(fake):
    fake.add_plugin('sw_eager')
    plugins.install(fake.package())
    assert fake.plugin('sw_eager').calls == [{'lib_loaded': False, 'lib_ready': False}]
    assert 'sw_eager' in plugins.installed(fake.package_name)


def test_second_install_call_installs_nothing_twice(fake):
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    package = fake.package()
    plugins.install(package)
    plugins.install(package)
    fake.import_lib()
    plugins.install(package)
    assert len(fake.plugin('sw_fakelib').calls) == 1


def test_only_sw_modules_are_plugins(fake):
    fake.add_plugin('helpers', hooked=[])
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())
    assert f'{fake.package_name}.helpers' not in sys.modules
    assert 'sw_fakelib' in plugins.pending(fake.package_name)


def test_submodule_hook_fires_on_the_submodule_only(fake):
    fake.add_plugin(
        'sw_fakesub',
        hooked=[f'{fake.lib}.sub'],
        body=f"""
        top = __import__({fake.lib + '.sub'!r})
        calls.append(top.sub.SUB_VALUE)
        """,
    )
    plugins.install(fake.package())
    fake.import_lib()
    assert fake.plugin('sw_fakesub').calls == []
    fake.import_lib('.sub')
    assert fake.plugin('sw_fakesub').calls == [{'lib_loaded': True, 'lib_ready': True}, 'sub value']


def test_two_plugins_on_one_library_both_install(fake):
    fake.add_plugin('sw_one', hooked=[fake.lib])
    fake.add_plugin('sw_two', hooked=[fake.lib])
    plugins.install(fake.package())
    fake.import_lib()
    assert len(fake.plugin('sw_one').calls) == 1
    assert len(fake.plugin('sw_two').calls) == 1


def test_uninstall_hooks_stops_waiting(fake):
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())
    assert watcher_installed()
    plugins.uninstall_hooks()
    assert not watcher_installed()
    fake.import_lib()
    assert fake.plugin('sw_fakelib').calls == []
    assert 'sw_fakelib' not in plugins.installed(fake.package_name)
    assert 'sw_fakelib' not in plugins.pending(fake.package_name)


def test_this_interpreter_is_watched_around_find_spec():
    # The cheap way must be the one in use on the interpreters the agent supports; a
    # Python whose importlib changed falls back to the finder (tests above run both).
    assert _import_watch._bootstrap_module() is importlib._bootstrap


@pytest.mark.parametrize('fake', ['find_spec'], indirect=True)
def test_watching_around_find_spec_adds_no_finder_and_is_undone(fake):
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    finders = list(sys.meta_path)
    plugins.install(fake.package())
    assert sys.meta_path == finders
    assert hasattr(importlib._bootstrap._find_spec, '_sw_wrapped_find_spec')
    absent = f'sw_absent_{uuid.uuid4().hex}'
    with pytest.raises(ModuleNotFoundError) as error:  # an unwatched import fails as before
        importlib.import_module(absent)
    assert error.value.name == absent
    module = fake.import_lib()
    assert len(fake.plugin('sw_fakelib').calls) == 1
    assert type(module.__spec__.loader) is SourceFileLoader  # the wrapper left no trace
    assert importlib.reload(module) is module  # a reload is not reported again
    assert len(fake.plugin('sw_fakelib').calls) == 1
    plugins.uninstall_hooks()
    assert not hasattr(importlib._bootstrap._find_spec, '_sw_wrapped_find_spec')


def test_a_finder_put_in_front_does_not_hide_imports(fake):
    class Other:  # finds the library itself, as an editable install's finder would
        def find_spec(self, fullname, path=None, target=None):
            return importlib.machinery.PathFinder.find_spec(fullname, path, target)

    other = Other()
    fake.add_plugin('sw_a', hooked=[fake.lib])
    plugins.install(fake.package())
    sys.meta_path.insert(0, other)
    try:
        fake.add_plugin('sw_b', hooked=[fake.lib])
        plugins.install(fake.package())
        fake.import_lib()
        assert len(fake.plugin('sw_a').calls) == 1
    finally:
        sys.meta_path.remove(other)


# --- disabling and versions -------------------------------------------------------------


@pytest.mark.parametrize('setting', [['sw_fake.*'], 'sw_other, sw_fake.*', ['', 'sw_fakelib$']])
def test_disabled_plugins_are_neither_imported_nor_installed(fake, agent_log, setting):
    config.agent_disable_plugins = setting
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    fake.add_plugin('sw_kept', hooked=[fake.lib])
    plugins.install(fake.package())
    fake.import_lib()
    assert f'{fake.package_name}.sw_fakelib' not in sys.modules
    assert 'sw_fakelib' not in plugins.installed(fake.package_name)
    assert len(fake.plugin('sw_kept').calls) == 1
    assert any('sw_fakelib is disabled' in message for message in agent_log.messages(logging.INFO))


def test_disable_patterns_match_from_the_start_of_the_name(fake):
    config.agent_disable_plugins = ['fakelib']
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())
    assert 'sw_fakelib' in plugins.pending(fake.package_name)


def test_invalid_disable_pattern_is_reported_and_ignored(fake, agent_log):
    config.agent_disable_plugins = ['sw_(', 'sw_fakelib']
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())
    assert 'sw_fakelib' not in plugins.pending(fake.package_name)
    assert any('sw_(' in message for message in agent_log.messages(logging.WARNING))


def version_rule(fake, rules):
    return f"version_rule = {{'name': {fake.lib!r}, 'rules': {rules!r}}}"


def test_unsupported_version_is_skipped_with_one_info_line(fake, agent_log):
    fake.add_distribution(fake.lib, '1.5.0')
    fake.add_plugin('sw_fakelib', hooked=[fake.lib], extra=version_rule(fake, ['>=2.0']))
    plugins.install(fake.package())
    fake.import_lib()
    assert fake.plugin('sw_fakelib').calls == []
    assert 'sw_fakelib' not in plugins.installed(fake.package_name)
    lines = [m for m in agent_log.messages(logging.INFO) if 'sw_fakelib' in m]
    assert len(lines) == 1 and 'version' in lines[0]
    assert not agent_log.messages(logging.WARNING)


@pytest.mark.parametrize('rules', [['>=1.0 <2.0'], ['<1.0', '==1.5.0'], ['!=1.4']])
def test_supported_version_installs(fake, rules):
    fake.add_distribution(fake.lib, '1.5.0')
    fake.add_plugin('sw_fakelib', hooked=[fake.lib], extra=version_rule(fake, rules))
    plugins.install(fake.package())
    fake.import_lib()
    assert 'sw_fakelib' in plugins.installed(fake.package_name)


def test_version_rule_of_a_missing_distribution_counts_as_supported(fake):
    fake.add_plugin(
        'sw_fakelib',
        hooked=[fake.lib],
        extra="version_rule = {'name': 'no-such-distribution-4711', 'rules': ['>=99']}",
    )
    plugins.install(fake.package())
    fake.import_lib()
    assert 'sw_fakelib' in plugins.installed(fake.package_name)


def test_check_operators_as_upstream():
    current = version.parse('1.8.0')
    for rule in ('>1.1.0', '>=1.0.0', '<2.0.0', '<=1.8.0', '==1.8.0', '!=1.6.0', '==1.8'):
        assert plugins.check(rule, current), rule
    for rule in ('>1.9.0', '>=1.8.1', '<1.8.0', '<=1.7.0', '==1.0.0', '!=1.8.0'):
        assert not plugins.check(rule, current), rule
    assert plugins.check('<2.0', '2.0rc1')
    assert plugins.check('>=1.10', '1.10.0')
    assert not plugins.check('>=1.10', '1.9.9')


def test_check_rejects_a_rule_without_operator():
    with pytest.raises(plugins.VersionRuleError):
        plugins.check('~1.0', version.parse('1.0'))


def test_simple_version_fallback_orders_like_pep440():
    simple = plugins._simple_version
    assert simple('1.10') > simple('1.9.9')
    assert simple('2.0rc1') < simple('2.0') < simple('2.0.1')
    assert simple('2.0.dev1') < simple('2.0a1')
    assert simple('1.0') == simple('1.0.0')


# --- failures stay inside the agent -----------------------------------------------------


def test_failing_install_does_not_reach_the_application(fake, agent_log):
    fake.add_plugin('sw_fakelib', hooked=[fake.lib], body="raise RuntimeError('patching failed')")
    plugins.install(fake.package())
    lib = fake.import_lib()
    assert lib.READY is True
    assert 'sw_fakelib' not in plugins.installed(fake.package_name)
    warnings = [m for m in agent_log.messages(logging.WARNING) if 'sw_fakelib' in m]
    assert len(warnings) == 1 and 'failed to install' in warnings[0]


def test_failing_eager_install_does_not_raise(fake, agent_log):
    fake.add_plugin('sw_broken', body="raise ImportError('library missing')")
    plugins.install(fake.package())
    assert 'sw_broken' not in plugins.installed(fake.package_name)
    assert len(agent_log.messages(logging.WARNING)) == 1


def test_a_plugin_module_that_cannot_be_imported_is_left_out(fake, agent_log):
    fake.add_plugin('sw_badimport', raw='import no_such_library_4711\ndef install():\n    pass\n')
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())
    assert 'sw_fakelib' in plugins.pending(fake.package_name)
    assert any('sw_badimport' in m for m in agent_log.messages(logging.WARNING))


def test_a_plugin_without_install_is_left_out(fake, agent_log):
    fake.add_plugin('sw_noinstall', raw='hooked_modules = ["json"]\n')
    plugins.install(fake.package())
    assert 'sw_noinstall' not in plugins.installed(fake.package_name)
    assert any('sw_noinstall' in m for m in agent_log.messages(logging.WARNING))


def test_library_import_error_reaches_the_application_and_the_hook_stays(fake):
    fake.write_library("raise ImportError('library is broken')\n")
    fake.add_plugin('sw_fakelib', hooked=[fake.lib])
    plugins.install(fake.package())
    with pytest.raises(ImportError, match='library is broken'):
        fake.import_lib()
    assert fake.plugin('sw_fakelib').calls == []
    assert 'sw_fakelib' in plugins.pending(fake.package_name)

    fake.write_library()
    sys.modules.pop(fake.lib, None)
    fake.import_lib()
    assert fake.plugin('sw_fakelib').calls == [{'lib_loaded': True, 'lib_ready': True}]


def test_the_agent_plugins_load_without_importing_their_libraries():
    # In a child process: installing the real plugins here would patch this test process.
    code = textwrap.dedent(
        """
        import json, sys
        from skywalking import plugins
        before = set(sys.modules)
        plugins.install()
        # http.client and ssl too: loading ssl alone costs several MiB of RSS.
        libraries = ['flask', 'requests', 'django', 'redis', 'pymysql', 'http.client', 'ssl', 'urllib.request']
        print(json.dumps({
            'imported': sorted(name for name in libraries if name in sys.modules and name not in before),
            'pending': plugins.pending(),
            'installed': plugins.installed(),
        }))
        """
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        env={**os.environ, 'PYTHONPATH': str(Path(skywalking.__file__).resolve().parent.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out['imported'] == []
    assert not set(out['pending']) & set(out['installed'])


# --- tools/gen_docs.py ------------------------------------------------------------------


@pytest.fixture
def gen_docs():
    spec = importlib.util.spec_from_file_location('gen_docs_under_test', ROOT / 'tools' / 'gen_docs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_table_rows_come_from_plugin_metadata(gen_docs, monkeypatch):
    plugin = types.ModuleType('skywalking.plugins.sw_demo')
    plugin.__file__ = __file__
    plugin.link_vector = ['https://flask.palletsprojects.com']
    plugin.support_matrix = {'flask': {'>=3.10': ['2.0', '3.0']}, 'werkzeug': {'>=3.10': []}}
    plugin.note = 'first line\nsecond | line'
    plugin.component = 7001
    monkeypatch.setattr(gen_docs, 'plugin_modules', lambda: [plugin])
    # What `plugin_matrix.py --record` wrote: 3.0 passed on two Pythons, 2.0 on one.
    monkeypatch.setattr(
        gen_docs,
        'TESTED',
        {
            'flask': {
                '3.0 on 3.11.7': {'installed': '3.0.3', 'python': '3.11.7'},
                '2.0 on 3.11.7': {'installed': '2.0.3', 'python': '3.11.7'},
                '3.0 on 3.10.13': {'installed': '3.0.3', 'python': '3.10.13'},
            }
        },
    )
    rows = gen_docs.plugin_rows()
    assert rows[2] == (
        '| `sw_demo` | [flask](https://flask.palletsprojects.com) | Python >=3.10: 2.0, 3.0 '
        '| 3.0.3 (Python 3.10.13); 2.0.3, 3.0.3 (Python 3.11.7) | Flask (7001) | first line second \\| line |'
    )
    assert rows[3].startswith('| `sw_demo` | werkzeug | Python >=3.10: not supported | not run |')


def test_configuration_doc_lists_every_option_once(gen_docs):
    text = gen_docs.configuration_md()
    for name in config.options:
        assert text.count(f'| `{name}` |') == 1, name
    row = '| `agent_collector_heartbeat_period` | `SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD` | int (1-3600) | `30` |'
    assert row in text


def test_readme_regions_are_replaced_only_between_markers(gen_docs):
    text = 'intro\n<!-- config-table:start -->\nold\n<!-- config-table:end -->\noutro\n'
    assert gen_docs.replace_region(text, 'config-table', 'new\n') == (
        'intro\n<!-- config-table:start -->\nnew\n<!-- config-table:end -->\noutro\n'
    )
    assert gen_docs.replace_region('no markers\n', 'config-table', 'new\n') == 'no markers\n'


def test_committed_docs_are_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools' / 'gen_docs.py'), '--check'], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_agent_start_does_not_import_importlib_metadata():
    # It brings email, zipfile, pathlib and csv (3 MB, ~15 ms); the loader needs it only
    # when a library with a version rule is imported, which this process never does.
    code = (
        'from skywalking import agent, config\n'
        "config.init(agent_collector_backend_services='127.0.0.1:1', agent_name='lean-start')\n"
        'agent.start()\n'
        'import sys\n'
        "print('importlib.metadata' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith('SW_')}
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'False', done.stdout + done.stderr
