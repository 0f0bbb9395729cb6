"""The configuration schema end to end: what `config.py` declares is what the native core
reads, an option that does nothing says so, bad numbers and backend addresses are reported.

Starting the agent happens in child interpreters, so that no reporter of this test process
is replaced and each child's stderr (where the core logs) can be read.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import free_port
from tests.unit.test_config import child_env

from skywalking import _core, config

PACKAGE = Path(config.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tools'))
import gen_docs  # noqa: E402 - tools/ is not a package

SPECS = {spec.name: spec for spec in config.option_specs()}

# Read by the core but without effect until the log reporter lands (it is handed to the
# Kafka producer's topic table, which sends nothing to it yet).
READ_BUT_UNUSED = {'kafka_topic_log'}
# Options that `config.py` itself applies (finalize_name) and that the CLI reads from the
# environment (sitecustomize, before `config` exists in the child).
APPLIED_IN_CONFIG = {'agent_namespace', 'kafka_namespace'}
READ_FROM_ENVIRONMENT = {'agent_sw_python_bootstrap_propagate', 'agent_sw_python_cli_debug_enabled'}


def run_child(code: str, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, '-c', code], env=child_env(**env), capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    return result


def is_plugin_helper(path: Path) -> bool:
    return path.parent.name == 'plugins' and path.name.startswith('_') and path.name != '__init__.py'


def python_readers(name: str) -> list[str]:
    """Files of the package outside config.py that read `config.<name>` (assignments aside)
    or `config.snapshot()['<name>']`. The plugin helper layer (`plugins/_*.py`) is left
    out: a helper's read has an effect only once a plugin calls that helper."""
    reads = re.compile(rf'\bconfig\.{name}\b(?!\s*=[^=])|snapshot\(\)\[\'{name}\'\]')
    return [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob('*.py')
        if path.name != 'config.py' and not is_plugin_helper(path) and reads.search(path.read_text(encoding='utf-8'))
    ]


# --- one schema ---------------------------------------------------------------------------


def test_the_snapshot_has_every_declared_option_and_the_core_reads_only_declared_ones():
    snapshot = config.snapshot()
    assert list(snapshot) == config.options
    undeclared = set(_core.CONFIG_OPTIONS) - set(config.options)
    assert not undeclared, f'the core reads options config.py does not declare: {undeclared}'
    assert len(set(_core.CONFIG_OPTIONS)) == len(_core.CONFIG_OPTIONS)


def test_every_option_is_acted_on_or_marked_as_without_effect():
    for name, spec in SPECS.items():
        used = (
            name in _core.CONFIG_OPTIONS
            or python_readers(name)
            or name in APPLIED_IN_CONFIG
            or name in READ_FROM_ENVIRONMENT
        )
        if spec.effect.startswith('none: '):
            assert not used or name in READ_BUT_UNUSED, (
                f'{name} is read ({"core" if name in _core.CONFIG_OPTIONS else python_readers(name)}) '
                f'but config.py says {spec.effect!r}: update its effect field'
            )
        else:
            assert used, f'nothing reads {name}: mark it effect="none: <why>" in config.py'


def test_the_options_this_work_made_effective_reach_the_core():
    for name in ('agent_queue_timeout', 'agent_profile_duration'):
        assert name in _core.CONFIG_OPTIONS
        assert not SPECS[name].effect


def test_the_docs_say_which_options_have_no_effect():
    table = gen_docs.configuration_md()
    rows = {line.split('|')[1].strip(' `'): line for line in table.splitlines() if line.startswith('| `')}
    assert set(rows) == set(config.options)
    for name, spec in SPECS.items():
        if spec.effect.startswith('none: '):
            assert '**No effect yet**' in rows[name], name
        elif spec.effect.startswith('partial: '):
            assert '**Partly in effect**' in rows[name], name
        else:
            assert 'effect yet**' not in rows[name] and 'in effect**' not in rows[name], name
    assert '**No effect yet** (there is no log reporter yet)' in rows['agent_log_reporter_active']


_START_WITHOUT_EACH = """
import json
from skywalking import _core, config
results = {}
for name in _core.CONFIG_OPTIONS:
    for broken in ('missing', 'mistyped'):
        options = config.snapshot()
        options['_instance_properties'] = []
        if broken == 'missing':
            del options[name]
        else:
            options[name] = object()
        try:
            _core.start(options)
            results[name + ' ' + broken] = 'started'
            _core.stop(0.1)
        except ValueError as error:
            results[name + ' ' + broken] = str(error)
print(json.dumps(results))
"""


def test_the_core_refuses_a_mapping_with_an_option_missing_or_mistyped_and_names_it():
    result = run_child(_START_WITHOUT_EACH, SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{free_port()}')
    outcomes = json.loads(result.stdout)
    assert len(outcomes) == 2 * len(_core.CONFIG_OPTIONS)
    for case, message in outcomes.items():
        name = case.split()[0]
        assert name in message, (case, message)
        assert re.search(rf'\[ERROR\] skywalking agent not started: .*{name}', result.stderr), case


# --- bounds -------------------------------------------------------------------------------


def test_every_queue_size_option_is_bounded_away_from_zero():
    queues = [name for name in config.options if name.endswith('buffer_size')]
    assert len(queues) == 4
    for name in queues:
        low, high = SPECS[name].bounds
        assert 1 <= low <= SPECS[name].default <= high <= 100_000, name


_FILL_QUEUE = """
import json
from skywalking import _core, agent
from skywalking.trace.context import get_context
agent.start()
for n in range(300):
    with get_context().new_entry_span(f'/queued/{n}'):
        pass
print(json.dumps(_core.stats()))
"""


def test_a_queue_size_of_0_means_the_default_queue_not_a_queue_of_one():
    # Nothing listens on the backend port, so every segment stays queued: a queue of one
    # (what 0 became before) drops almost all of them.
    result = run_child(
        _FILL_QUEUE,
        SW_AGENT_TRACE_REPORTER_MAX_BUFFER_SIZE='0',
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{free_port()}',
        SW_AGENT_DISABLE_PLUGINS='sw_.*',
        SW_AGENT_PROFILE_ACTIVE='false',
        SW_AGENT_EXIT_FLUSH_TIMEOUT='0.2',
    )
    stats = json.loads(result.stdout)
    assert stats['segments_dropped_queue_full'] == stats['spans_dropped_queue_full'] == 0, stats
    assert stats['segments_queued'] == 300, stats
    warnings = [line for line in result.stderr.splitlines() if 'agent_trace_reporter_max_buffer_size' in line]
    assert len(warnings) == 1, result.stderr
    assert 'WARNING' in warnings[0] and 'does not mean unbounded' in warnings[0]


# --- backend addresses --------------------------------------------------------------------

_START = """
from skywalking import _core, agent
from skywalking.trace.context import get_context
agent.start()
with get_context().new_entry_span('/still-running'):
    pass
print('application ran on')
"""


@pytest.mark.parametrize(
    'protocol, address, reason',
    [
        ('grpc', 'oap:99999', 'port 99999 is not a TCP port'),
        ('grpc', 'grpc://oap:11800', 'a URL with the scheme "grpc"'),
        ('grpc', 'http://oap:11800', 'a URL with the scheme "http"'),
        ('grpc', ':11800', 'no host'),
        ('grpc', '', 'no address'),
        ('grpc', 'oap', 'no port'),
        ('http', 'http://oap:99999', 'invalid port "99999"'),
        ('http', 'ftp://oap:12800', 'unsupported scheme "ftp"'),
        ('http', 'http://:12800', 'no host'),
        ('kafka', 'kafka', 'no port'),
    ],
)
def test_a_backend_address_that_cannot_work_is_reported_at_start_and_the_application_runs_on(protocol, address, reason):
    option = 'SW_KAFKA_BOOTSTRAP_SERVERS' if protocol == 'kafka' else 'SW_AGENT_COLLECTOR_BACKEND_SERVICES'
    result = run_child(
        _START,
        SW_AGENT_PROTOCOL=protocol,
        SW_AGENT_DISABLE_PLUGINS='sw_.*',
        SW_AGENT_EXIT_FLUSH_TIMEOUT='0.2',
        **{option: address},
    )
    assert result.stdout.strip() == 'application ran on'
    warnings = [line for line in result.stderr.splitlines() if '[WARNING]' in line and reason in line]
    assert len(warnings) == 1, result.stderr
    assert option.lower().removeprefix('sw_') in warnings[0], warnings[0]


def test_a_working_backend_address_draws_no_address_warning():
    result = run_child(
        _START,
        SW_AGENT_COLLECTOR_BACKEND_SERVICES=f'127.0.0.1:{free_port()}',
        SW_AGENT_DISABLE_PLUGINS='sw_.*',
        SW_AGENT_EXIT_FLUSH_TIMEOUT='0.2',
    )
    assert result.stdout.strip() == 'application ran on'
    assert 'agent_collector_backend_services' not in result.stderr, result.stderr
    assert 'reporting to 127.0.0.1:' in result.stderr
