"""The ``sw-python`` CLI, the sitecustomize loader and the uWSGI hook, run as real processes.

Every child gets a user ``sitecustomize`` (a temporary directory on ``PYTHONPATH``) that
records that it ran and replaces ``skywalking.agent`` with a stub whose ``start()`` records
the configuration it sees, so these tests need neither the native core nor a backend.
"""

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skywalking
from skywalking.bootstrap import HOOKS_DIR, LOADER_DIR
from skywalking.bootstrap.cli import sw_python

ROOT = Path(__file__).resolve().parents[2]
# Children import the same `skywalking` as this process (the source tree or the installed package).
PYTHON_DIR = str(Path(skywalking.__file__).resolve().parent.parent)

USER_SITECUSTOMIZE = """
import json
import os
import sys
import types


def record(event, **data):
    with open(os.environ['SW_TEST_RECORD'], 'a') as out:
        out.write(json.dumps(dict(event=event, pid=os.getpid(), **data)) + '\\n')


def start():
    from skywalking import config

    record(
        'agent-start',
        instance=config.agent_instance_name,
        fork_support=config.agent_experimental_fork_support,
        logging_level=config.agent_logging_level,
    )
    if os.environ.get('SW_TEST_START_FAILS'):
        raise RuntimeError('agent start broke')


# The sw-python process itself also imports this file; only the processes it starts
# (which see SW_PYTHON_VERSION) are observed.
if 'SW_PYTHON_VERSION' in os.environ:
    record('user-sitecustomize', file=__file__)

    import skywalking

    stub = types.ModuleType('skywalking.agent')
    stub.start = start
    sys.modules['skywalking.agent'] = stub
    skywalking.agent = stub

    if os.environ.get('SW_TEST_USER_SITE_FAILS'):
        raise RuntimeError('user sitecustomize broke')
"""

PRINT_ENV = 'import json, os; print(json.dumps(dict(os.environ)))'


@pytest.fixture
def workspace(tmp_path):
    """A user site directory, a bin directory for fake servers, and the record file."""
    site = tmp_path / 'usersite'
    site.mkdir()
    (site / 'sitecustomize.py').write_text(USER_SITECUSTOMIZE)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    return {'site': site, 'bin': bin_dir, 'record': tmp_path / 'record.jsonl'}


def base_env(workspace, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(('SW_', 'UWSGI_')) and key not in ('prefork', 'PYTHONPATH')
    }
    env['PYTHONPATH'] = os.pathsep.join([PYTHON_DIR, str(workspace['site'])])
    env['PATH'] = os.pathsep.join([str(workspace['bin']), env.get('PATH', '')])
    env['SW_TEST_RECORD'] = str(workspace['record'])
    env.update(overrides)
    return env


def sw_python_cli(workspace, *args, **env_overrides) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-m', 'sw_python', *args],
        env=base_env(workspace, **env_overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def records(workspace) -> list[dict]:
    path = workspace['record']
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def events(workspace) -> list[str]:
    return [entry['event'] for entry in records(workspace)]


def fake_program(workspace, name: str, body: str) -> Path:
    """An executable `name` in the bin directory, run by this test's Python."""
    path = workspace['bin'] / name
    path.write_text(f'#!{sys.executable}\n' + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def fake_env_dumper(workspace, name: str) -> Path:
    """An executable `name` that prints its environment as `env` does (no Python involved)."""
    path = workspace['bin'] / name
    path.write_text('#!/bin/sh\nexec env\n')
    path.chmod(0o755)
    return path


def parse_env_output(text: str) -> dict:
    return dict(line.split('=', 1) for line in text.splitlines() if '=' in line)


# --- sw-python run: exported environment ------------------------------------------------


def test_run_exports_the_loader_environment_and_execs_the_command(workspace):
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', PRINT_ENV)
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    assert env['PYTHONPATH'].split(os.pathsep) == [LOADER_DIR, HOOKS_DIR, PYTHON_DIR, str(workspace['site'])]
    assert env['SW_PYTHON_PREFIX'] == os.path.realpath(os.path.normpath(sys.prefix))
    assert env['SW_PYTHON_VERSION'] == platform.python_version()
    assert env['SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED'] == 'False'
    assert 'prefork' not in env
    assert not [key for key in env if key.startswith('UWSGI_')]
    assert events(workspace) == ['user-sitecustomize', 'agent-start']


def test_debug_flag_is_exported_and_turns_agent_logging_to_debug(workspace):
    result = sw_python_cli(workspace, '-d', 'run', sys.executable, '-c', PRINT_ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)['SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED'] == 'True'
    assert 'skywalking-cli [DEBUG]' in result.stderr
    assert 'skywalking-loader' in result.stderr
    start = [entry for entry in records(workspace) if entry['event'] == 'agent-start']
    assert start[0]['logging_level'] == 'DEBUG'


def test_run_keeps_an_existing_pythonpath_that_already_has_the_loader(workspace):
    existing = os.pathsep.join([LOADER_DIR, PYTHON_DIR, str(workspace['site'])])
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', PRINT_ENV, PYTHONPATH=existing)
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)['PYTHONPATH'].split(os.pathsep)
    assert entries == [LOADER_DIR, HOOKS_DIR, PYTHON_DIR, str(workspace['site'])]


def test_user_command_arguments_are_passed_untouched(workspace):
    script = 'import json, sys; print(json.dumps(sys.argv[1:]))'
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', script, '-p', '--debug', 'run', '-h')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ['-p', '--debug', 'run', '-h']


def test_prefork_gunicorn(workspace):
    fake_env_dumper(workspace, 'gunicorn')
    result = sw_python_cli(workspace, 'run', '-p', 'gunicorn', 'app:wsgi', '--workers', '2')
    assert result.returncode == 0, result.stderr
    env = parse_env_output(result.stdout)
    assert env['prefork'] == 'gunicorn'
    assert not [key for key in env if key.startswith('UWSGI_')]
    assert env['PYTHONPATH'].split(os.pathsep)[:2] == [LOADER_DIR, HOOKS_DIR]


def test_prefork_gunicorn_given_as_a_path(workspace):
    program = fake_env_dumper(workspace, 'gunicorn')
    result = sw_python_cli(workspace, '--debug', 'run', '--prefork', str(program), 'app:wsgi')
    assert result.returncode == 0, result.stderr
    assert parse_env_output(result.stdout)['prefork'] == 'gunicorn'


def test_prefork_uwsgi_adds_master_threads_and_the_hook(workspace):
    fake_env_dumper(workspace, 'uwsgi')
    result = sw_python_cli(workspace, 'run', '-p', 'uwsgi', '--http', ':9090', '--mount', '/=app:app')
    assert result.returncode == 0, result.stderr
    env = parse_env_output(result.stdout)
    assert env['prefork'] == 'uwsgi'
    assert env['UWSGI_MASTER'] == 'true'
    assert env['UWSGI_ENABLE_THREADS'] == 'true'
    assert env['UWSGI_SHARED_PYTHON_IMPORT'] == 'uwsgi_hook'
    assert 'UWSGI_SHARED_IMPORT' not in env


def test_prefork_uwsgi_respects_given_options_and_taken_import_slots(workspace):
    fake_env_dumper(workspace, 'uwsgi')
    result = sw_python_cli(
        workspace,
        'run',
        '-p',
        'uwsgi',
        '--master',
        '--enable-threads',
        UWSGI_SHARED_PYTHON_IMPORT='mine',
    )
    assert result.returncode == 0, result.stderr
    env = parse_env_output(result.stdout)
    assert 'UWSGI_MASTER' not in env
    assert 'UWSGI_ENABLE_THREADS' not in env
    assert env['UWSGI_SHARED_PYTHON_IMPORT'] == 'mine'
    assert env['UWSGI_SHARED_IMPORT'] == 'uwsgi_hook'


def test_prefork_uwsgi_fails_when_every_import_slot_is_taken(workspace):
    fake_env_dumper(workspace, 'uwsgi')
    taken = {
        name: 'mine'
        for name in (
            'UWSGI_SHARED_PYTHON_IMPORT',
            'UWSGI_SHARED_IMPORT',
            'UWSGI_SHARED_PYIMPORT',
            'UWSGI_SHARED_PY_IMPORT',
        )
    }
    result = sw_python_cli(workspace, 'run', '-p', 'uwsgi', '--master', **taken)
    assert result.returncode == 1
    assert result.stdout == ''
    assert 'UWSGI_SHARED_PY_IMPORT' in result.stderr


def test_prefork_with_another_program_exports_an_empty_prefork(workspace):
    fake_env_dumper(workspace, 'hypercorn')
    result = sw_python_cli(workspace, 'run', '-p', 'hypercorn', 'app:app')
    assert result.returncode == 0, result.stderr
    assert parse_env_output(result.stdout)['prefork'] == ''


def test_run_without_a_command_fails(workspace):
    result = sw_python_cli(workspace, 'run')
    assert result.returncode == 1
    assert 'No command given' in result.stderr


def test_run_with_a_missing_program_fails_with_its_name(workspace):
    result = sw_python_cli(workspace, 'run', 'no-such-program-4711')
    assert result.returncode == 1
    assert 'no-such-program-4711' in result.stderr


def test_help_lists_both_sub_commands(workspace):
    result = sw_python_cli(workspace, '-h')
    assert result.returncode == 0
    assert 'run' in result.stdout and 'collector' in result.stdout


def test_unknown_sub_command_is_a_usage_error(workspace):
    result = sw_python_cli(workspace, 'serve')
    assert result.returncode == 2
    assert 'usage: sw-python' in result.stderr


# --- sw-python collector ----------------------------------------------------------------


def test_collector_without_the_native_module_reports_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'skywalking._core', None)
    assert sw_python.main(['collector', '--grpc-port', '11800']) == 1
    assert 'skywalking._core' in capsys.readouterr().err


def test_collector_without_run_collector_reports_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'skywalking._core', type(sys)('skywalking._core'))
    assert sw_python.main(['collector']) == 1
    assert 'run_collector' in capsys.readouterr().err


def test_collector_hands_every_argument_to_the_native_function(monkeypatch):
    calls = []
    core = type(sys)('skywalking._core')

    def run_collector(argv):
        calls.append(argv)
        return 3

    core.run_collector = run_collector
    monkeypatch.setitem(sys.modules, 'skywalking._core', core)
    assert sw_python.main(['-d', 'collector', '--help', '-p', 'x', 'run']) == 3
    assert calls == [['sw-python collector', '--help', '-p', 'x', 'run']]


# --- loader (sitecustomize) -------------------------------------------------------------


def test_loader_chains_to_the_user_sitecustomize_before_starting_the_agent(workspace):
    code = 'import sitecustomize; print(sitecustomize.__file__)'
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(workspace['site'] / 'sitecustomize.py')
    entries = records(workspace)
    assert [entry['event'] for entry in entries] == ['user-sitecustomize', 'agent-start']
    start = entries[1]
    assert start['fork_support'] is False
    assert start['logging_level'] == 'INFO'
    assert '-master(' not in start['instance'] and '-child(' not in start['instance']


GRANDCHILD = 'import subprocess, sys; subprocess.run([sys.executable, "-c", "pass"], check=True)'


def test_children_get_an_agent_too_by_default(workspace):
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', GRANDCHILD)
    assert result.returncode == 0, result.stderr
    starts = [entry for entry in records(workspace) if entry['event'] == 'agent-start']
    assert len(starts) == 2
    assert starts[0]['pid'] != starts[1]['pid']


@pytest.mark.parametrize('switch', ['False', 'false'])
def test_propagate_switch_keeps_children_without_agent(workspace, switch):
    result = sw_python_cli(
        workspace, 'run', sys.executable, '-c', GRANDCHILD, SW_AGENT_SW_PYTHON_BOOTSTRAP_PROPAGATE=switch
    )
    assert result.returncode == 0, result.stderr
    starts = [entry for entry in records(workspace) if entry['event'] == 'agent-start']
    assert len(starts) == 1
    # The grandchild still ran the user's own sitecustomize.
    assert events(workspace).count('user-sitecustomize') == 2


def test_gunicorn_master_starts_as_master_with_fork_support(workspace):
    fake_program(workspace, 'gunicorn', 'import os; print(os.getpid())\n')
    result = sw_python_cli(workspace, 'run', '-p', 'gunicorn', 'app:wsgi')
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout)
    start = [entry for entry in records(workspace) if entry['event'] == 'agent-start']
    assert len(start) == 1
    assert start[0]['instance'].endswith(f'-master({pid})')
    assert start[0]['fork_support'] is True


def test_uwsgi_master_runs_no_agent(workspace):
    fake_program(workspace, 'uwsgi', 'print("master up")\n')
    result = sw_python_cli(workspace, 'run', '-p', 'uwsgi', '--master')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'master up'
    assert events(workspace) == ['user-sitecustomize']


def test_other_interpreter_runs_without_agent_instead_of_exiting(workspace):
    result = subprocess.run(
        [sys.executable, '-c', 'print("still running")'],
        env=base_env(
            workspace,
            PYTHONPATH=os.pathsep.join([LOADER_DIR, HOOKS_DIR, PYTHON_DIR, str(workspace['site'])]),
            SW_PYTHON_VERSION='2.7.18',
            SW_PYTHON_PREFIX='/opt/elsewhere',
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == 'still running'
    assert '2.7.18' in result.stderr and 'not started' in result.stderr
    assert events(workspace) == ['user-sitecustomize']


def test_a_failing_agent_start_does_not_stop_the_program(workspace):
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', 'print("ok")', SW_TEST_START_FAILS='1')
    assert result.returncode == 0
    assert result.stdout.strip() == 'ok'
    assert 'agent start broke' in result.stderr


def test_a_failing_user_sitecustomize_is_reported_and_the_agent_still_starts(workspace):
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', 'print("ok")', SW_TEST_USER_SITE_FAILS='1')
    assert result.returncode == 0
    assert result.stdout.strip() == 'ok'
    assert 'user sitecustomize broke' in result.stderr
    assert events(workspace) == ['user-sitecustomize', 'agent-start']


def test_without_a_user_sitecustomize_the_loader_stays_importable(workspace):
    (workspace['site'] / 'sitecustomize.py').unlink()
    code = 'import sitecustomize; print(sitecustomize.__file__)'
    result = sw_python_cli(workspace, 'run', sys.executable, '-c', code, SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED='')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == os.path.join(LOADER_DIR, 'sitecustomize.py')


# --- uWSGI hook -------------------------------------------------------------------------

FAKE_UWSGIDECORATORS = """
hooks = []


def postfork(function):
    hooks.append(function)
    return function
"""

RUN_HOOK = """
import json, os, sys, types
import skywalking
from skywalking import config
started = []
stub = types.ModuleType('skywalking.agent')
stub.start = lambda: started.append(config.agent_instance_name)
sys.modules['skywalking.agent'] = stub
skywalking.agent = stub
config.agent_instance_name = 'worker'
import uwsgi_hook
import uwsgidecorators
assert uwsgidecorators.hooks, 'no postfork hook registered'
uwsgidecorators.hooks[0]()
print(json.dumps({'started': started, 'pid': os.getpid()}))
"""


def test_uwsgi_hook_starts_the_agent_as_a_child_after_fork(tmp_path):
    fake = tmp_path / 'fake'
    fake.mkdir()
    (fake / 'uwsgidecorators.py').write_text(FAKE_UWSGIDECORATORS)
    env = {key: value for key, value in os.environ.items() if not key.startswith('SW_')}
    # The fake comes first: PYTHON_DIR may be site-packages, which may hold the real module.
    env['PYTHONPATH'] = os.pathsep.join([str(fake), HOOKS_DIR, PYTHON_DIR])
    result = subprocess.run([sys.executable, '-c', RUN_HOOK], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out['started'] == [f'worker-child({out["pid"]})']


def test_uwsgi_hook_outside_uwsgi_only_warns(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith('SW_')}
    env['PYTHONPATH'] = os.pathsep.join([HOOKS_DIR, PYTHON_DIR])
    result = subprocess.run(
        [sys.executable, '-c', 'import uwsgi_hook; print("imported")'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == 'imported'
    assert 'outside uWSGI' in result.stderr
