"""skywalking.config (options, environment, init, finalize, snapshot), skywalking.loggings and
the shared enums of the `skywalking` package.

Environment parsing happens when `skywalking.config` is imported, so those tests import it
in a child interpreter with a controlled environment.
"""

import copy
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import skywalking
from skywalking import Component, Kind, Layer, Log, LogItem, config, loggings

ROOT = Path(__file__).resolve().parents[2]
# Children import the same `skywalking` as this process (the source tree or the installed package).
PYTHON_DIR = Path(skywalking.__file__).resolve().parent.parent

# The 61 options of the upstream agent: (name, environment variable, default).
UPSTREAM_OPTIONS = [
    ('agent_collector_backend_services', 'SW_AGENT_COLLECTOR_BACKEND_SERVICES', 'oap_host:oap_port'),
    ('agent_protocol', 'SW_AGENT_PROTOCOL', 'grpc'),
    ('agent_name', 'SW_AGENT_NAME', 'Python Service Name'),
    ('agent_instance_name', 'SW_AGENT_INSTANCE_NAME', None),  # uuid1 hex, checked apart
    ('agent_namespace', 'SW_AGENT_NAMESPACE', ''),
    ('kafka_bootstrap_servers', 'SW_KAFKA_BOOTSTRAP_SERVERS', 'localhost:9092'),
    ('kafka_namespace', 'SW_KAFKA_NAMESPACE', ''),
    ('kafka_topic_management', 'SW_KAFKA_TOPIC_MANAGEMENT', 'skywalking-managements'),
    ('kafka_topic_segment', 'SW_KAFKA_TOPIC_SEGMENT', 'skywalking-segments'),
    ('kafka_topic_log', 'SW_KAFKA_TOPIC_LOG', 'skywalking-logs'),
    ('kafka_topic_meter', 'SW_KAFKA_TOPIC_METER', 'skywalking-meters'),
    ('kafka_reporter_custom_configurations', 'SW_KAFKA_REPORTER_CUSTOM_CONFIGURATIONS', ''),
    ('agent_force_tls', 'SW_AGENT_FORCE_TLS', False),
    ('agent_authentication', 'SW_AGENT_AUTHENTICATION', ''),
    ('agent_logging_level', 'SW_AGENT_LOGGING_LEVEL', 'INFO'),
    ('agent_collector_heartbeat_period', 'SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD', 30),
    ('agent_collector_properties_report_period_factor', 'SW_AGENT_COLLECTOR_PROPERTIES_REPORT_PERIOD_FACTOR', 10),
    ('agent_instance_properties_json', 'SW_AGENT_INSTANCE_PROPERTIES_JSON', ''),
    ('agent_experimental_fork_support', 'SW_AGENT_EXPERIMENTAL_FORK_SUPPORT', False),
    ('agent_queue_timeout', 'SW_AGENT_QUEUE_TIMEOUT', 1),
    ('agent_asyncio_enhancement', 'SW_AGENT_ASYNCIO_ENHANCEMENT', False),
    ('agent_sw_python_bootstrap_propagate', 'SW_AGENT_SW_PYTHON_BOOTSTRAP_PROPAGATE', False),
    ('agent_sw_python_cli_debug_enabled', 'SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED', False),
    ('agent_trace_reporter_max_buffer_size', 'SW_AGENT_TRACE_REPORTER_MAX_BUFFER_SIZE', 10000),
    ('agent_trace_ignore_path', 'SW_AGENT_TRACE_IGNORE_PATH', ''),
    ('agent_ignore_suffix', 'SW_AGENT_IGNORE_SUFFIX', '.jpg,.jpeg,.js,.css,.png,.bmp,.gif,.ico,.mp3,.mp4,.html,.svg '),
    ('correlation_element_max_number', 'SW_CORRELATION_ELEMENT_MAX_NUMBER', 3),
    ('correlation_value_max_length', 'SW_CORRELATION_VALUE_MAX_LENGTH', 128),
    ('agent_profile_active', 'SW_AGENT_PROFILE_ACTIVE', True),
    ('agent_collector_get_profile_task_interval', 'SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL', 20),
    ('agent_profile_max_parallel', 'SW_AGENT_PROFILE_MAX_PARALLEL', 5),
    ('agent_profile_duration', 'SW_AGENT_PROFILE_DURATION', 10),
    ('agent_profile_dump_max_stack_depth', 'SW_AGENT_PROFILE_DUMP_MAX_STACK_DEPTH', 500),
    ('agent_profile_snapshot_transport_buffer_size', 'SW_AGENT_PROFILE_SNAPSHOT_TRANSPORT_BUFFER_SIZE', 50),
    ('agent_log_reporter_active', 'SW_AGENT_LOG_REPORTER_ACTIVE', True),
    ('agent_log_reporter_safe_mode', 'SW_AGENT_LOG_REPORTER_SAFE_MODE', False),
    ('agent_log_reporter_max_buffer_size', 'SW_AGENT_LOG_REPORTER_MAX_BUFFER_SIZE', 10000),
    ('agent_log_reporter_level', 'SW_AGENT_LOG_REPORTER_LEVEL', 'WARNING'),
    ('agent_log_reporter_ignore_filter', 'SW_AGENT_LOG_REPORTER_IGNORE_FILTER', False),
    ('agent_log_reporter_formatted', 'SW_AGENT_LOG_REPORTER_FORMATTED', True),
    (
        'agent_log_reporter_layout',
        'SW_AGENT_LOG_REPORTER_LAYOUT',
        '%(asctime)s [%(threadName)s] %(levelname)s %(name)s - %(message)s',
    ),
    ('agent_cause_exception_depth', 'SW_AGENT_CAUSE_EXCEPTION_DEPTH', 10),
    ('agent_meter_reporter_active', 'SW_AGENT_METER_REPORTER_ACTIVE', True),
    ('agent_meter_reporter_max_buffer_size', 'SW_AGENT_METER_REPORTER_MAX_BUFFER_SIZE', 10000),
    ('agent_meter_reporter_period', 'SW_AGENT_METER_REPORTER_PERIOD', 20),
    ('agent_pvm_meter_reporter_active', 'SW_AGENT_PVM_METER_REPORTER_ACTIVE', True),
    ('agent_disable_plugins', 'SW_AGENT_DISABLE_PLUGINS', ['']),
    ('plugin_http_http_params_length_threshold', 'SW_PLUGIN_HTTP_HTTP_PARAMS_LENGTH_THRESHOLD', 1024),
    ('plugin_http_ignore_method', 'SW_PLUGIN_HTTP_IGNORE_METHOD', ''),
    ('plugin_sql_parameters_max_length', 'SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH', 0),
    ('plugin_pymongo_trace_parameters', 'SW_PLUGIN_PYMONGO_TRACE_PARAMETERS', False),
    ('plugin_pymongo_parameters_max_length', 'SW_PLUGIN_PYMONGO_PARAMETERS_MAX_LENGTH', 512),
    ('plugin_elasticsearch_trace_dsl', 'SW_PLUGIN_ELASTICSEARCH_TRACE_DSL', False),
    ('plugin_flask_collect_http_params', 'SW_PLUGIN_FLASK_COLLECT_HTTP_PARAMS', False),
    ('plugin_sanic_collect_http_params', 'SW_PLUGIN_SANIC_COLLECT_HTTP_PARAMS', False),
    ('plugin_django_collect_http_params', 'SW_PLUGIN_DJANGO_COLLECT_HTTP_PARAMS', False),
    ('plugin_fastapi_collect_http_params', 'SW_PLUGIN_FASTAPI_COLLECT_HTTP_PARAMS', False),
    ('plugin_bottle_collect_http_params', 'SW_PLUGIN_BOTTLE_COLLECT_HTTP_PARAMS', False),
    ('plugin_celery_parameters_length', 'SW_PLUGIN_CELERY_PARAMETERS_LENGTH', 512),
    ('plugin_grpc_ignored_methods', 'SW_PLUGIN_GRPC_IGNORED_METHODS', ''),
    ('sample_n_per_3_secs', 'SW_SAMPLE_N_PER_3_SECS', 0),
]
ADDED_OPTIONS = [
    ('agent_span_limit', 'SW_AGENT_SPAN_LIMIT', 300),
    ('agent_exit_flush_timeout', 'SW_AGENT_EXIT_FLUSH_TIMEOUT', 5.0),
    ('plugin_threading_propagate_context', 'SW_PLUGIN_THREADING_PROPAGATE_CONTEXT', True),
]
ALL_OPTIONS = UPSTREAM_OPTIONS + ADDED_OPTIONS

DUMP = 'import json; from skywalking import config; print(json.dumps({n: getattr(config, n) for n in config.options}))'


def child_env(**overrides) -> dict:
    """The current environment without any agent variable, plus `overrides`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(('SW_', 'UWSGI_')) and key not in ('prefork', 'PYTHONPATH')
    }
    env['PYTHONPATH'] = str(PYTHON_DIR)
    env.update(overrides)
    return env


def import_config(**overrides):
    """Option values as a fresh interpreter sees them with `overrides` in its environment."""
    result = subprocess.run(
        [sys.executable, '-c', DUMP], env=child_env(**overrides), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.fixture
def cfg():
    """`config`, restored to its previous state after the test."""
    saved = {name: copy.deepcopy(getattr(config, name)) for name in config.options}
    saved_regex = (config.RE_IGNORE_PATH, config.RE_HTTP_IGNORE_METHOD, config.RE_GRPC_IGNORED_METHODS)
    saved_finalized = dict(config._finalized)
    config._warned.clear()
    yield config
    config._warned.clear()
    config.init(**saved)
    config.RE_IGNORE_PATH, config.RE_HTTP_IGNORE_METHOD, config.RE_GRPC_IGNORED_METHODS = saved_regex
    config._finalized.clear()
    config._finalized.update(saved_finalized)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def agent_records():
    """Records logged by the agent's own `skywalking` logger during the test."""
    handler = _Records()
    loggings.logger.addHandler(handler)
    yield handler.records
    loggings.logger.removeHandler(handler)


# --- declaration ------------------------------------------------------------------------


def test_options_are_the_upstream_ones_plus_three_additions_in_order():
    expected = [name for name, _, _ in UPSTREAM_OPTIONS]
    expected.insert(expected.index('agent_asyncio_enhancement') + 1, 'agent_exit_flush_timeout')
    expected.insert(expected.index('correlation_value_max_length') + 1, 'agent_span_limit')
    expected.insert(expected.index('plugin_grpc_ignored_methods') + 1, 'plugin_threading_propagate_context')
    assert config.options == expected
    assert len(UPSTREAM_OPTIONS) == 61


def test_every_option_has_its_variable_type_and_a_one_line_description():
    specs = {spec.name: spec for spec in config.option_specs()}
    for name, env, default in ALL_OPTIONS:
        spec = specs[name]
        assert spec.env == env
        if default is not None:
            assert spec.default == default
            assert spec.type is type(default)
        assert spec.description and '\n' not in spec.description
        assert spec.section
    for name, _, _ in ADDED_OPTIONS:
        assert specs[name].description.startswith('(skywalking-rs addition)')


def test_options_with_default_value_and_type_lists_every_option():
    table = config.options_with_default_value_and_type
    assert list(table) == config.options
    assert table['agent_collector_heartbeat_period'][1] is int
    assert table['agent_disable_plugins'][1] is list


# --- environment ------------------------------------------------------------------------


def test_defaults_of_all_options_in_a_clean_environment():
    values, stderr = import_config()
    assert stderr == ''
    for name, _, default in ALL_OPTIONS:
        if default is None:
            continue
        assert values[name] == default, name
        assert type(values[name]) is type(default), name
    assert re.fullmatch(r'[0-9a-f]{32}', values['agent_instance_name'])


def test_instance_name_default_is_new_in_every_process():
    first, _ = import_config()
    second, _ = import_config()
    assert first['agent_instance_name'] != second['agent_instance_name']


def test_every_variable_is_read():
    overrides, expected = {}, {}
    for name, env, default in ALL_OPTIONS:
        if isinstance(default, bool):
            overrides[env] = 'FALSE' if default else 'TrUe'
            expected[name] = not default
        elif isinstance(default, int):
            overrides[env] = '-7'
            expected[name] = -7
        elif isinstance(default, float):
            overrides[env] = '0.25'
            expected[name] = 0.25
        elif isinstance(default, list):
            overrides[env] = 'sw_flask,sw_dj.*'
            expected[name] = ['sw_flask', 'sw_dj.*']
        else:
            overrides[env] = f'value-of-{name}'
            expected[name] = f'value-of-{name}'
    overrides['SW_AGENT_PROTOCOL'] = 'HTTP'
    expected['agent_protocol'] = 'http'
    overrides['SW_PLUGIN_HTTP_IGNORE_METHOD'] = 'get,Options'
    expected['plugin_http_ignore_method'] = 'GET,OPTIONS'
    overrides['SW_PLUGIN_GRPC_IGNORED_METHODS'] = '/pkg.Svc/Call'
    expected['plugin_grpc_ignored_methods'] = '/PKG.SVC/CALL'

    values, stderr = import_config(**overrides)
    assert stderr == ''
    assert values == expected


@pytest.mark.parametrize('raw', ['yes', '1', 'on', '', ' false'])
def test_false_default_booleans_are_true_only_for_true(raw):
    values, _ = import_config(SW_AGENT_FORCE_TLS=raw, SW_AGENT_EXPERIMENTAL_FORK_SUPPORT=raw)
    assert values['agent_force_tls'] is False
    assert values['agent_experimental_fork_support'] is False


@pytest.mark.parametrize('raw', ['no', '0', 'off', '', 'False ', 'FALSE'])
def test_true_default_booleans_are_false_only_for_false(raw):
    values, _ = import_config(SW_AGENT_PROFILE_ACTIVE=raw, SW_AGENT_LOG_REPORTER_FORMATTED=raw)
    expected = raw.strip().lower() != 'false'
    assert values['agent_profile_active'] is expected
    assert values['agent_log_reporter_formatted'] is expected


def test_empty_string_variables_are_kept_for_strings():
    values, _ = import_config(SW_AGENT_NAME='', SW_AGENT_DISABLE_PLUGINS='')
    assert values['agent_name'] == ''
    assert values['agent_disable_plugins'] == ['']


def test_bad_numbers_keep_the_default_and_warn_once_naming_the_variable():
    values, stderr = import_config(
        SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD='abc',
        SW_AGENT_QUEUE_TIMEOUT='1.5',
        SW_SAMPLE_N_PER_3_SECS='',
        SW_AGENT_EXIT_FLUSH_TIMEOUT='nan',
        SW_AGENT_SPAN_LIMIT='many',
    )
    assert values['agent_collector_heartbeat_period'] == 30
    assert values['agent_queue_timeout'] == 1
    assert values['sample_n_per_3_secs'] == 0
    assert values['agent_exit_flush_timeout'] == 5.0
    assert values['agent_span_limit'] == 300
    lines = stderr.strip().splitlines()
    assert len(lines) == 5
    for variable in (
        'SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD',
        'SW_AGENT_QUEUE_TIMEOUT',
        'SW_SAMPLE_N_PER_3_SECS',
        'SW_AGENT_EXIT_FLUSH_TIMEOUT',
        'SW_AGENT_SPAN_LIMIT',
    ):
        assert sum(variable in line for line in lines) == 1, (variable, stderr)
    assert all('WARNING' in line for line in lines)


# --- init / snapshot --------------------------------------------------------------------


def test_init_sets_options_and_rejects_unknown_names_without_changing_anything(cfg):
    cfg.init(agent_name='orders', agent_collector_heartbeat_period=5)
    assert cfg.agent_name == 'orders'
    assert cfg.agent_collector_heartbeat_period == 5

    with pytest.raises(KeyError, match='Invalid configuration option agent_nmae'):
        cfg.init(agent_name='payments', agent_nmae='typo')
    assert cfg.agent_name == 'orders'


def test_init_stores_values_as_given(cfg):
    cfg.init(agent_collector_heartbeat_period='15')
    assert cfg.agent_collector_heartbeat_period == '15'


def test_snapshot_has_every_option_with_its_declared_type(cfg):
    cfg.init(
        agent_collector_heartbeat_period='15',
        agent_profile_active='False',
        agent_force_tls='true',
        agent_disable_plugins='sw_a, sw_b',
        agent_protocol='KAFKA',
        agent_exit_flush_timeout='2',
        agent_namespace=None,
    )
    snap = cfg.snapshot()
    assert list(snap) == cfg.options
    assert snap['agent_collector_heartbeat_period'] == 15
    assert snap['agent_profile_active'] is False
    assert snap['agent_force_tls'] is True
    assert snap['agent_disable_plugins'] == ['sw_a', ' sw_b']
    assert snap['agent_protocol'] == 'kafka'
    assert snap['agent_exit_flush_timeout'] == 2.0
    assert snap['agent_namespace'] == ''
    assert snap['agent_instance_name'] == cfg.agent_instance_name
    for name, _, default in ALL_OPTIONS:
        if default is not None:
            assert type(snap[name]) is type(default), name


def test_snapshot_replaces_unusable_values_by_the_default(cfg, agent_records):
    cfg.init(agent_collector_heartbeat_period='soon', agent_exit_flush_timeout=float('nan'))
    snap = cfg.snapshot()
    assert snap['agent_collector_heartbeat_period'] == 30
    assert snap['agent_exit_flush_timeout'] == 5.0
    warnings = [r.getMessage() for r in agent_records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert 'agent_collector_heartbeat_period' in warnings[0]


@pytest.mark.parametrize('value', [0, -1, 10**9, '0'])
def test_an_out_of_range_queue_size_gets_one_warning_and_the_default(value, agent_records, cfg):
    cfg.init(agent_trace_reporter_max_buffer_size=value)
    assert cfg.snapshot()['agent_trace_reporter_max_buffer_size'] == 10000
    assert cfg.snapshot()['agent_trace_reporter_max_buffer_size'] == 10000
    warnings = [r.getMessage() for r in agent_records]
    assert len(warnings) == 1, warnings
    assert 'agent_trace_reporter_max_buffer_size' in warnings[0]
    assert '1..100000' in warnings[0] and 'using the default 10000' in warnings[0]
    if value in (0, '0'):
        assert 'does not mean unbounded' in warnings[0]


def test_values_inside_the_bounds_are_kept(cfg):
    cfg.init(agent_trace_reporter_max_buffer_size=1, agent_profile_duration=1440, correlation_element_max_number=0)
    snapshot = cfg.snapshot()
    assert snapshot['agent_trace_reporter_max_buffer_size'] == 1
    assert snapshot['agent_profile_duration'] == 1440
    assert snapshot['correlation_element_max_number'] == 0


def test_an_unknown_protocol_gets_one_warning_and_grpc(cfg, agent_records):
    cfg.init(agent_protocol='amqp')
    assert cfg.snapshot()['agent_protocol'] == 'grpc'
    assert cfg.snapshot()['agent_protocol'] == 'grpc'
    warnings = [r.getMessage() for r in agent_records]
    assert warnings == ["Ignoring config.agent_protocol='amqp': not one of grpc, http, kafka; using the default 'grpc'"]
    cfg.init(agent_protocol=' HTTP ')
    assert cfg.snapshot()['agent_protocol'] == 'http'


def test_comma_separated_options_given_as_lists_reach_the_core_as_text(cfg):
    # finalize() accepts lists for these; the native core reads the snapshot, which must
    # say the same thing (not "['get', 'Options']").
    cfg.init(plugin_http_ignore_method=['get', 'Options'], agent_trace_ignore_path=('/health', '/ping/**'))
    snap = cfg.snapshot()
    assert snap['plugin_http_ignore_method'] == 'GET,OPTIONS'
    assert snap['agent_trace_ignore_path'] == '/health,/ping/**'


# --- finalize ---------------------------------------------------------------------------


def test_namespace_suffixes_the_service_name_once(cfg):
    cfg.init(agent_name='orders', agent_namespace='prod')
    cfg.finalize()
    assert cfg.agent_name == 'orders|prod'
    cfg.finalize()
    assert cfg.agent_name == 'orders|prod'
    cfg.init(agent_name='billing')
    cfg.finalize()
    assert cfg.agent_name == 'billing|prod'


def test_no_namespace_leaves_the_service_name(cfg):
    cfg.init(agent_name='orders', agent_namespace='')
    cfg.finalize()
    assert cfg.agent_name == 'orders'


def test_kafka_namespace_prefixes_all_four_topics(cfg):
    cfg.init(kafka_namespace='blue')
    cfg.finalize()
    cfg.finalize()
    assert cfg.kafka_topic_management == 'blue-skywalking-managements'
    assert cfg.kafka_topic_segment == 'blue-skywalking-segments'
    assert cfg.kafka_topic_log == 'blue-skywalking-logs'
    assert cfg.kafka_topic_meter == 'blue-skywalking-meters'


def test_http_protocol_turns_off_meters_and_profiling_with_a_warning(cfg):
    cfg.init(agent_protocol='http', agent_profile_active=True, agent_meter_reporter_active=True)
    with pytest.warns(UserWarning, match='HTTP'):
        cfg.finalize_feature()
    assert cfg.agent_profile_active is False
    assert cfg.agent_meter_reporter_active is False
    assert cfg.agent_log_reporter_active is True


def test_kafka_protocol_turns_off_profiling_only(cfg):
    cfg.init(agent_protocol='kafka', agent_profile_active=True, agent_meter_reporter_active=True)
    with pytest.warns(UserWarning, match='Kafka'):
        cfg.finalize_feature()
    assert cfg.agent_profile_active is False
    assert cfg.agent_meter_reporter_active is True


def test_grpc_protocol_keeps_every_feature(cfg, recwarn):
    cfg.init(agent_protocol='grpc', agent_profile_active=True, agent_meter_reporter_active=True)
    cfg.finalize_feature()
    assert cfg.agent_profile_active is True
    assert cfg.agent_meter_reporter_active is True
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def ignored(cfg, pattern, path):
    cfg.init(agent_trace_ignore_path=pattern)
    cfg.finalize()
    return bool(cfg.RE_IGNORE_PATH.match(path))


# Upstream's tests/unit/test_ant_matcher.py cases.
ANT_CASES = [
    ('/eureka/*', '/eureka/apps', True),
    ('/eureka/*', '/eureka/', True),
    ('/eureka/*', '/eureka/apps/', False),
    ('/eureka/*/', '/eureka/apps/', True),
    ('/eureka/*/', '/eureka/', False),
    ('/eureka/*/', '/eureka/apps/list', False),
    ('/eureka/**', '/eureka/', True),
    ('/eureka/**', '/eureka/apps/test', True),
    ('/eureka/**', '/eureka/apps/test/', False),
    ('eureka/apps/?', 'eureka/apps/list', False),
    ('eureka/apps/?', 'eureka/apps/', False),
    ('eureka/apps/?', 'eureka/apps/a', True),
    ('eureka/**/lists', 'eureka/apps/lists', True),
    ('eureka/**/lists', 'eureka/apps/test/lists', True),
    ('eureka/**/lists', 'eureka/apps/test/', False),
    ('eureka/**/lists', 'eureka/apps/test', False),
    ('eureka/**/test/**', 'eureka/apps/test/list', True),
    ('eureka/**/test/**', 'eureka/apps/foo/test/list/bar', True),
    ('eureka/**/test/**', 'eureka/apps/foo/test/list/bar/', False),
    ('eureka/**/test/**', 'eureka/apps/test/list', True),
    ('eureka/**/test/**', 'eureka/test/list', True),
    ('eureka/*/**/test/**', 'eureka/test/list', False),
    ('/eureka/**/b/**/*.txt', '/eureka/a/aa/aaa/b/bb/bbb/xxxxxx.txt', True),
    ('/eureka/**/b/**/*.txt', '/eureka/a/aa/aaa/b/bb/bbb/xxxxxx', False),
]


@pytest.mark.parametrize(('pattern', 'path', 'expected'), ANT_CASES)
def test_ant_patterns_as_upstream(cfg, pattern, path, expected):
    assert ignored(cfg, pattern, path) is expected


def test_ignore_path_list_and_literal_characters(cfg):
    pattern = '/health, /static/**,/a+b(c)'
    assert ignored(cfg, pattern, '/health')
    assert ignored(cfg, pattern, '/static/css/site')
    assert ignored(cfg, pattern, '/a+b(c)')
    assert not ignored(cfg, pattern, '/aab(c)')
    assert not ignored(cfg, pattern, '/healthz')


def test_default_suffixes_are_ignored_and_nothing_else(cfg):
    cfg.init(agent_trace_ignore_path='')
    cfg.finalize()
    assert cfg.RE_IGNORE_PATH.match('/static/logo.png')
    assert cfg.RE_IGNORE_PATH.match('/index.html')
    assert not cfg.RE_IGNORE_PATH.match('/logo.pngx')
    assert not cfg.RE_IGNORE_PATH.match('/api/users')
    assert not cfg.RE_IGNORE_PATH.match('.png')  # a suffix needs something before it
    assert not cfg.RE_IGNORE_PATH.match('')


def test_an_empty_suffix_list_ignores_nothing(cfg):
    # Upstream builds ^.+(?:)$ here, which ignores every operation.
    cfg.init(agent_ignore_suffix='', agent_trace_ignore_path='')
    cfg.finalize()
    assert not cfg.RE_IGNORE_PATH.match('/api/users')
    cfg.init(agent_ignore_suffix='.jpg,,')
    cfg.finalize()
    assert not cfg.RE_IGNORE_PATH.match('/api/users')
    assert cfg.RE_IGNORE_PATH.match('/a.jpg')


def test_matchers_work_before_finalize():
    assert config.RE_IGNORE_PATH.match('/favicon.ico')


def test_http_method_check(cfg):
    cfg.init(plugin_http_ignore_method='GET, options')
    cfg.finalize()
    assert cfg.ignore_http_method_check('GET')
    assert cfg.ignore_http_method_check('get')
    assert cfg.ignore_http_method_check('OPTIONS')
    assert not cfg.ignore_http_method_check('POST')
    assert not cfg.ignore_http_method_check('GETX')
    cfg.init(plugin_http_ignore_method='')
    cfg.finalize()
    assert not cfg.ignore_http_method_check('GET')
    assert not cfg.ignore_http_method_check('')


def test_grpc_method_check_is_exact_and_case_insensitive(cfg):
    cfg.init(plugin_grpc_ignored_methods='/grpc.health.v1.Health/Check,/pkg.Svc/Ping')
    cfg.finalize()
    assert cfg.ignore_grpc_method_check('/grpc.health.v1.Health/Check')
    assert cfg.ignore_grpc_method_check('/PKG.SVC/PING')
    assert not cfg.ignore_grpc_method_check('/grpcXhealth.v1.Health/Check')
    assert not cfg.ignore_grpc_method_check('/pkg.Svc/PingPong')


# --- loggings ---------------------------------------------------------------------------


@pytest.fixture
def agent_logger_level():
    level = loggings.logger.level
    yield
    loggings.logger.setLevel(level)


@pytest.mark.parametrize(
    ('name', 'level'),
    [('DEBUG', 10), ('warn', 30), ('FATAL', 50), ('OFF', logging.CRITICAL + 10), ('error', 40)],
)
def test_logging_level_names(cfg, agent_logger_level, name, level):
    cfg.init(agent_logging_level=name)
    loggings.init()
    assert loggings.logger.level == level
    assert loggings.logger_debug_enabled is (level <= logging.DEBUG)


def test_unknown_logging_level_falls_back_to_info(cfg, agent_logger_level, agent_records):
    cfg.init(agent_logging_level='chatty')
    loggings.init()
    assert loggings.logger.level == logging.INFO
    assert ['chatty' in r.getMessage() for r in agent_records] == [True]


def test_agent_logger_does_not_propagate_to_the_application_root_logger():
    assert loggings.logger.name == 'skywalking'
    assert loggings.logger.propagate is False
    assert loggings.logger.handlers


# --- enums and span logs ----------------------------------------------------------------

COMPONENT_IDS = {
    'Unknown': 0,
    'Redis': 7,
    'MongoDB': 9,
    'PostgreSQL': 22,
    'Grpc': 23,
    'KafkaProducer': 40,
    'KafkaConsumer': 41,
    'Elasticsearch': 47,
    'RabbitmqProducer': 52,
    'RabbitmqConsumer': 53,
    'PulsarProducer': 73,
    'PulsarConsumer': 74,
    'HBase': 94,
    'Neo4j': 112,
    'General': 7000,
    'Flask': 7001,
    'Requests': 7002,
    'PyMysql': 7003,
    'Django': 7004,
    'Tornado': 7005,
    'Urllib3': 7006,
    'Sanic': 7007,
    'AioHttp': 7008,
    'Pyramid': 7009,
    'Psycopg': 7010,
    'Celery': 7011,
    'Falcon': 7012,
    'MysqlClient': 7013,
    'FastAPI': 7014,
    'Bottle': 7015,
    'AsyncPG': 7016,
    'AIORedis': 7017,
    'Websockets': 7018,
    'HTTPX': 7019,
}


def test_component_ids():
    assert {member.name: member.value for member in Component} == COMPONENT_IDS


def test_layers_and_kinds():
    assert {m.name: m.value for m in Layer} == {
        'Unknown': 0,
        'Database': 1,
        'RPCFramework': 2,
        'Http': 3,
        'MQ': 4,
        'Cache': 5,
    }
    assert {m.name: m.value for m in Kind} == {'Local': 0, 'Entry': 1, 'Exit': 2}
    assert Kind.Entry.is_entry and not Kind.Entry.is_exit and not Kind.Entry.is_local
    assert Kind.Exit.is_exit and Kind.Local.is_local


def test_enums_are_ints_for_the_native_span_attributes():
    assert int(Component.Flask) == 7001 and Component.Flask == 7001
    assert isinstance(Layer.Http, int) and isinstance(Kind.Exit, int)


def test_log_timestamp_is_taken_when_the_log_is_made():
    first = Log(items=[LogItem(key='Traceback', val='x')])
    time.sleep(0.02)
    second = Log()
    assert second.timestamp - first.timestamp >= 0.015
    assert abs(second.timestamp - time.time()) < 5
    assert first.items[0].key == 'Traceback' and first.items[0].val == 'x'
    assert second.items == []
    assert Log(timestamp=12.5).timestamp == 12.5
