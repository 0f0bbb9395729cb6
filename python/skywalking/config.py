"""Every configuration option of the agent, as plain module attributes.

Options are read from environment variables when this module is imported, can be changed
with `init(**kwargs)` (or by assigning the attribute) before `agent.start()`, and are handed
to the native core as one `snapshot()` when the agent starts. Names, environment variables,
defaults and the truthiness of booleans are those of the upstream agent (`apache-skywalking`):

* a boolean that defaults to False is true only when its variable is ``true`` (any case);
* a boolean that defaults to True is false only when its variable is ``false`` (any case).

A number that cannot be parsed does not break the import: one warning names the variable
and the default is kept (upstream raises `ValueError` while importing `skywalking`).

Each option is declared once with `_option(...)`, which records its variable, type, default,
section and a one-line description; `tools/gen_docs.py` builds docs/Configuration.md and the
README table from these records (`option_specs()`).
"""

import os
import re
import uuid
import warnings
from re import Pattern
from typing import NamedTuple

from skywalking.loggings import logger


class OptionSpec(NamedTuple):
    """What the docs and `snapshot()` need to know about one option."""

    name: str
    env: str
    type: type
    default: object
    description: str
    section: str
    #: How the default is shown in the docs when it is computed at import (instance name).
    doc_default: str | None
    #: 'lower' / 'upper' for the str options that upstream case-folds, else None.
    case: str | None
    #: Empty when the option does what its description says; otherwise ``'none: <why>'``
    #: (accepted, read by nothing that acts on it) or ``'partial: <what is missing>'``.
    #: The docs print it next to the description; flip it when the effect lands.
    effect: str = ''
    #: Inclusive (lowest, highest) sane values of a number option; `snapshot()` replaces a
    #: value outside them by the default, with one warning.
    bounds: tuple[float, float] | None = None
    #: The only values a text option may take (after case folding); `snapshot()` replaces
    #: any other by the default, with one warning.
    choices: tuple[str, ...] | None = None


_SPECS: dict[str, OptionSpec] = {}
_section = ''


def _begin(section: str) -> None:
    global _section
    _section = section


def _parse_bool(raw: str, default: bool) -> bool:
    if default:
        return raw.strip().lower() != 'false'
    return raw.strip().lower() == 'true'


def _fold(value: str, case: str | None) -> str:
    if case == 'lower':
        return value.lower()
    if case == 'upper':
        return value.upper()
    return value


def _parse(spec: OptionSpec, raw: str):
    """Parse an environment value for `spec`; raises ValueError when it is not valid."""
    if spec.type is bool:
        return _parse_bool(raw, bool(spec.default))
    if spec.type is int:
        return int(raw.strip())
    if spec.type is float:
        value = float(raw.strip())
        if value != value:  # NaN would make every timeout comparison false
            raise ValueError('NaN')
        return value
    if spec.type is list:
        return raw.split(',')
    return _fold(raw, spec.case)


def _copy_default(spec: OptionSpec):
    return list(spec.default) if isinstance(spec.default, list) else spec.default


def _option(
    name, env, default, description, *, kind=None, case=None, doc_default=None, effect='', bounds=None, choices=None
):
    """Declare option `name`, read from variable `env`, and return its value at import."""
    if effect and not effect.startswith(('none: ', 'partial: ')):
        raise ValueError(f'{name}: effect must start with "none: " or "partial: "')
    spec = OptionSpec(
        name=name,
        env=env,
        type=kind or type(default),
        default=default,
        description=description,
        section=_section,
        doc_default=doc_default,
        case=case,
        effect=effect,
        bounds=bounds,
        choices=choices,
    )
    _SPECS[name] = spec
    raw = os.environ.get(env)
    if raw is None:
        return _copy_default(spec)
    try:
        return _parse(spec, raw)
    except ValueError:
        logger.warning(
            'Ignoring %s=%r: not a valid %s; %s keeps its default %r',
            env,
            raw,
            spec.type.__name__,
            name,
            default,
        )
        return _copy_default(spec)


#: Bounds of every queue size option: a queue is always bounded (upstream takes 0 as unbounded).
_QUEUE_SIZE = (1, 100_000)

# Rebuilt by finalize_regex(); built once at import below so matching works before start.
RE_IGNORE_PATH: Pattern = re.compile('(?!)')
RE_HTTP_IGNORE_METHOD: Pattern = re.compile('(?!)')
RE_GRPC_IGNORED_METHODS: Pattern = re.compile('(?!)')

# ----------------------------------------------------------------------------------------
_begin('Agent Core Configuration Options')
agent_collector_backend_services: str = _option(
    'agent_collector_backend_services',
    'SW_AGENT_COLLECTOR_BACKEND_SERVICES',
    'oap_host:oap_port',
    'Address of the OAP backend (`host:port`, gRPC 11800 or HTTP 12800); ignored by the Kafka protocol.',
)
agent_protocol: str = _option(
    'agent_protocol',
    'SW_AGENT_PROTOCOL',
    'grpc',
    'Protocol used to report to the backend: `grpc`, `http` or `kafka` (lower-cased).',
    case='lower',
    choices=('grpc', 'http', 'kafka'),
)
agent_name: str = _option(
    'agent_name',
    'SW_AGENT_NAME',
    'Python Service Name',
    'Service name shown in SkyWalking; becomes `<name>|<namespace>` when a namespace is set.',
)
agent_instance_name: str = _option(
    'agent_instance_name',
    'SW_AGENT_INSTANCE_NAME',
    uuid.uuid1().hex,
    'Name of this service instance; forked workers append `-child(<pid>)`, prefork masters `-master(<pid>)`.',
    doc_default='generated uuid1 hex (32 chars, no dashes)',
)
agent_namespace: str = _option(
    'agent_namespace',
    'SW_AGENT_NAMESPACE',
    '',
    'Namespace appended to the service name and reported as the `namespace` instance property.',
)
kafka_bootstrap_servers: str = _option(
    'kafka_bootstrap_servers',
    'SW_KAFKA_BOOTSTRAP_SERVERS',
    'localhost:9092',
    'Kafka brokers for the Kafka protocol, as `host1:port1,host2:port2`.',
)
kafka_namespace: str = _option(
    'kafka_namespace',
    'SW_KAFKA_NAMESPACE',
    '',
    "Kafka namespace (the OAP's `SW_NAMESPACE`); prefixes every Kafka topic as `<namespace>-<topic>`.",
)
kafka_topic_management: str = _option(
    'kafka_topic_management',
    'SW_KAFKA_TOPIC_MANAGEMENT',
    'skywalking-managements',
    'Kafka topic for instance properties and heartbeats; must match the OAP.',
)
kafka_topic_segment: str = _option(
    'kafka_topic_segment',
    'SW_KAFKA_TOPIC_SEGMENT',
    'skywalking-segments',
    'Kafka topic for trace segments; must match the OAP.',
)
kafka_topic_log: str = _option(
    'kafka_topic_log',
    'SW_KAFKA_TOPIC_LOG',
    'skywalking-logs',
    'Kafka topic for logs; must match the OAP.',
)
kafka_topic_meter: str = _option(
    'kafka_topic_meter',
    'SW_KAFKA_TOPIC_METER',
    'skywalking-meters',
    'Kafka topic for meters; must match the OAP.',
)
kafka_reporter_custom_configurations: str = _option(
    'kafka_reporter_custom_configurations',
    'SW_KAFKA_REPORTER_CUSTOM_CONFIGURATIONS',
    '',
    'Producer settings are passed as `SW_KAFKA_REPORTER_CONFIG_<key>` variables instead '
    '(kafka-python `KafkaProducer` argument names; see docs/Migration.md for those honoured).',
    effect='none: a placeholder, as upstream',
)
agent_force_tls: bool = _option(
    'agent_force_tls',
    'SW_AGENT_FORCE_TLS',
    False,
    'Use TLS towards the backend (system root certificates, no client certificate).',
)
agent_authentication: str = _option(
    'agent_authentication',
    'SW_AGENT_AUTHENTICATION',
    '',
    'Token sent as `authentication` gRPC metadata on every call, for an OAP that requires one.',
)
agent_logging_level: str = _option(
    'agent_logging_level',
    'SW_AGENT_LOGGING_LEVEL',
    'INFO',
    "Level of the agent's own `skywalking` logger: `DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL` or `OFF`.",
)

# ----------------------------------------------------------------------------------------
_begin('Agent Core Danger Zone')
agent_collector_heartbeat_period: int = _option(
    'agent_collector_heartbeat_period',
    'SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD',
    30,
    'Seconds between two keepAlive heartbeats to the backend.',
    bounds=(1, 3600),
)
agent_collector_properties_report_period_factor: int = _option(
    'agent_collector_properties_report_period_factor',
    'SW_AGENT_COLLECTOR_PROPERTIES_REPORT_PERIOD_FACTOR',
    10,
    'Instance properties are reported again every this many heartbeats.',
    bounds=(1, 1000),
)
agent_instance_properties_json: str = _option(
    'agent_instance_properties_json',
    'SW_AGENT_INSTANCE_PROPERTIES_JSON',
    '',
    'JSON object whose keys and values are added to the reported instance properties.',
)
agent_experimental_fork_support: bool = _option(
    'agent_experimental_fork_support',
    'SW_AGENT_EXPERIMENTAL_FORK_SUPPORT',
    False,
    'Restart the agent in every `os.fork()` child as instance `<name>-child(<pid>)`; not for short-lived children.',
    effect='none: the agent restarts in every forked child whatever its value',
)
agent_queue_timeout: int = _option(
    'agent_queue_timeout',
    'SW_AGENT_QUEUE_TIMEOUT',
    1,
    'Seconds a segment stream (an HTTP batch) waits for the next segment before it is closed and sent.',
    bounds=(1, 60),
)
agent_asyncio_enhancement: bool = _option(
    'agent_asyncio_enhancement',
    'SW_AGENT_ASYNCIO_ENHANCEMENT',
    False,
    'Upstream: report from asyncio tasks instead of threads.',
    effect='none: the native reporter never uses Python threads or event loops',
)
agent_exit_flush_timeout: float = _option(
    'agent_exit_flush_timeout',
    'SW_AGENT_EXIT_FLUSH_TIMEOUT',
    5.0,
    '(skywalking-rs addition) Seconds the agent may spend at interpreter exit sending what is still queued, '
    'including spans other threads close meanwhile (it waits for those open when the exit began, '
    'until none has closed for 0.1 s).',
    bounds=(0, 3600),
)

# ----------------------------------------------------------------------------------------
_begin('SW_PYTHON Auto Instrumentation CLI')
agent_sw_python_bootstrap_propagate: bool = _option(
    'agent_sw_python_bootstrap_propagate',
    'SW_AGENT_SW_PYTHON_BOOTSTRAP_PROPAGATE',
    False,
    'Environment only. Under `sw-python run`, child processes get an agent too unless this is `false`.',
)
agent_sw_python_cli_debug_enabled: bool = _option(
    'agent_sw_python_cli_debug_enabled',
    'SW_AGENT_SW_PYTHON_CLI_DEBUG_ENABLED',
    False,
    'Environment only, set by `sw-python -d`: debug logs from the CLI, the loader and the agent.',
)

# ----------------------------------------------------------------------------------------
_begin('Trace Reporter Configurations')
agent_trace_reporter_max_buffer_size: int = _option(
    'agent_trace_reporter_max_buffer_size',
    'SW_AGENT_TRACE_REPORTER_MAX_BUFFER_SIZE',
    10000,
    'Finished segments waiting to be sent; when full, new segments are dropped and counted.',
    bounds=_QUEUE_SIZE,
)
agent_trace_ignore_path: str = _option(
    'agent_trace_ignore_path',
    'SW_AGENT_TRACE_IGNORE_PATH',
    '',
    'Comma-separated Ant patterns (`/path/*`, `/path/**`, `/path/?`); '
    'spans whose operation name matches one are not traced.',
)
agent_ignore_suffix: str = _option(
    'agent_ignore_suffix',
    'SW_AGENT_IGNORE_SUFFIX',
    '.jpg,.jpeg,.js,.css,.png,.bmp,.gif,.ico,.mp3,.mp4,.html,.svg ',
    'Comma-separated suffixes; spans whose operation name ends with one of them are not traced.',
)
correlation_element_max_number: int = _option(
    'correlation_element_max_number',
    'SW_CORRELATION_ELEMENT_MAX_NUMBER',
    3,
    'Maximum number of entries in the correlation context (`sw8-correlation`).',
    bounds=(0, 1000),
)
correlation_value_max_length: int = _option(
    'correlation_value_max_length',
    'SW_CORRELATION_VALUE_MAX_LENGTH',
    128,
    'Maximum length of one correlation value; longer values are not stored.',
    bounds=(0, 65536),
)
agent_span_limit: int = _option(
    'agent_span_limit',
    'SW_AGENT_SPAN_LIMIT',
    300,
    '(skywalking-rs addition) Maximum spans in one segment; further spans are not recorded.',
    bounds=(1, 100_000),
)

# ----------------------------------------------------------------------------------------
_begin('Profiling Configurations')
agent_profile_active: bool = _option(
    'agent_profile_active',
    'SW_AGENT_PROFILE_ACTIVE',
    True,
    'Poll the backend for profiling tasks and run them.',
)
agent_collector_get_profile_task_interval: int = _option(
    'agent_collector_get_profile_task_interval',
    'SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL',
    20,
    'Seconds between two polls for profiling tasks.',
    bounds=(1, 3600),
)
agent_profile_max_parallel: int = _option(
    'agent_profile_max_parallel',
    'SW_AGENT_PROFILE_MAX_PARALLEL',
    5,
    'Segments that may be profiled at the same time.',
    bounds=(1, 100),
)
agent_profile_duration: int = _option(
    'agent_profile_duration',
    'SW_AGENT_PROFILE_DURATION',
    10,
    'Minutes one segment may be profiled at most; then its slot is freed for another request.',
    bounds=(1, 1440),
)
agent_profile_dump_max_stack_depth: int = _option(
    'agent_profile_dump_max_stack_depth',
    'SW_AGENT_PROFILE_DUMP_MAX_STACK_DEPTH',
    500,
    'Frames kept per sampled stack.',
    bounds=(1, 10_000),
)
agent_profile_snapshot_transport_buffer_size: int = _option(
    'agent_profile_snapshot_transport_buffer_size',
    'SW_AGENT_PROFILE_SNAPSHOT_TRANSPORT_BUFFER_SIZE',
    50,
    'Stack snapshots waiting to be sent; when full, new ones are dropped.',
    bounds=(1, 10_000),
)

# ----------------------------------------------------------------------------------------
_begin('Log Reporter Configurations')
agent_log_reporter_active: bool = _option(
    'agent_log_reporter_active',
    'SW_AGENT_LOG_REPORTER_ACTIVE',
    True,
    "Report the application's `logging` records to the backend.",
)
agent_log_reporter_safe_mode: bool = _option(
    'agent_log_reporter_safe_mode',
    'SW_AGENT_LOG_REPORTER_SAFE_MODE',
    False,
    'Remove `user:password@` from URLs in reported logs and span tracebacks.',
)
agent_log_reporter_max_buffer_size: int = _option(
    'agent_log_reporter_max_buffer_size',
    'SW_AGENT_LOG_REPORTER_MAX_BUFFER_SIZE',
    10000,
    'Log records waiting to be sent; when full, new records are dropped.',
    bounds=_QUEUE_SIZE,
)
agent_log_reporter_level: str = _option(
    'agent_log_reporter_level',
    'SW_AGENT_LOG_REPORTER_LEVEL',
    'WARNING',
    'Lowest level of the log records that are reported.',
)
agent_log_reporter_ignore_filter: bool = _option(
    'agent_log_reporter_ignore_filter',
    'SW_AGENT_LOG_REPORTER_IGNORE_FILTER',
    False,
    "Report records even when the application's logger filters reject them.",
)
agent_log_reporter_formatted: bool = _option(
    'agent_log_reporter_formatted',
    'SW_AGENT_LOG_REPORTER_FORMATTED',
    True,
    'Report the formatted text; if false, the raw message with its arguments as `argument.N` tags.',
)
agent_log_reporter_layout: str = _option(
    'agent_log_reporter_layout',
    'SW_AGENT_LOG_REPORTER_LAYOUT',
    '%(asctime)s [%(threadName)s] %(levelname)s %(name)s - %(message)s',
    '`logging` format used for reported records; `%(tid)s` inserts the trace id.',
)
agent_cause_exception_depth: int = _option(
    'agent_cause_exception_depth',
    'SW_AGENT_CAUSE_EXCEPTION_DEPTH',
    10,
    'Traceback entries kept in span error logs and reported log records.',
)

# ----------------------------------------------------------------------------------------
_begin('Meter Reporter Configurations')
agent_meter_reporter_active: bool = _option(
    'agent_meter_reporter_active',
    'SW_AGENT_METER_REPORTER_ACTIVE',
    True,
    'Report meters (counters, gauges, histograms) to the backend.',
)
agent_meter_reporter_max_buffer_size: int = _option(
    'agent_meter_reporter_max_buffer_size',
    'SW_AGENT_METER_REPORTER_MAX_BUFFER_SIZE',
    10000,
    'Most meter values in one report; the rest are dropped and counted.',
    bounds=_QUEUE_SIZE,
)
agent_meter_reporter_period: int = _option(
    'agent_meter_reporter_period',
    'SW_AGENT_METER_REPORTER_PERIOD',
    20,
    'Seconds between two meter collections and reports.',
    bounds=(1, 3600),
)
agent_pvm_meter_reporter_active: bool = _option(
    'agent_pvm_meter_reporter_active',
    'SW_AGENT_PVM_METER_REPORTER_ACTIVE',
    True,
    'Report Python VM meters (`instance_pvm_*`: CPU, memory, GC, threads).',
)

# ----------------------------------------------------------------------------------------
_begin('Plugin Related configurations')
agent_disable_plugins: list = _option(
    'agent_disable_plugins',
    'SW_AGENT_DISABLE_PLUGINS',
    [''],
    'Comma-separated regular expressions; plugins whose module name (`sw_flask`, ...) matches one are not installed.',
)
plugin_http_http_params_length_threshold: int = _option(
    'plugin_http_http_params_length_threshold',
    'SW_PLUGIN_HTTP_HTTP_PARAMS_LENGTH_THRESHOLD',
    1024,
    'Characters of collected HTTP parameters kept in the `http.params` tag.',
)
plugin_http_ignore_method: str = _option(
    'plugin_http_ignore_method',
    'SW_PLUGIN_HTTP_IGNORE_METHOD',
    '',
    'Comma-separated HTTP methods (`GET,OPTIONS`, ...) whose requests are not traced (upper-cased).',
    case='upper',
)
plugin_sql_parameters_max_length: int = _option(
    'plugin_sql_parameters_max_length',
    'SW_PLUGIN_SQL_PARAMETERS_MAX_LENGTH',
    0,
    'Characters of SQL parameters kept in `db.sql.parameters`; 0 does not collect them.',
)
plugin_pymongo_trace_parameters: bool = _option(
    'plugin_pymongo_trace_parameters',
    'SW_PLUGIN_PYMONGO_TRACE_PARAMETERS',
    False,
    'Record pymongo filters and documents in `db.statement`.',
)
plugin_pymongo_parameters_max_length: int = _option(
    'plugin_pymongo_parameters_max_length',
    'SW_PLUGIN_PYMONGO_PARAMETERS_MAX_LENGTH',
    512,
    'Characters of pymongo parameters kept.',
)
plugin_elasticsearch_trace_dsl: bool = _option(
    'plugin_elasticsearch_trace_dsl',
    'SW_PLUGIN_ELASTICSEARCH_TRACE_DSL',
    False,
    'Record the Elasticsearch query body in `db.statement`.',
)
plugin_flask_collect_http_params: bool = _option(
    'plugin_flask_collect_http_params',
    'SW_PLUGIN_FLASK_COLLECT_HTTP_PARAMS',
    False,
    'Record Flask request parameters in `http.params`.',
)
plugin_sanic_collect_http_params: bool = _option(
    'plugin_sanic_collect_http_params',
    'SW_PLUGIN_SANIC_COLLECT_HTTP_PARAMS',
    False,
    'Record Sanic request parameters in `http.params`.',
)
plugin_django_collect_http_params: bool = _option(
    'plugin_django_collect_http_params',
    'SW_PLUGIN_DJANGO_COLLECT_HTTP_PARAMS',
    False,
    'Record Django request parameters in `http.params`.',
)
plugin_fastapi_collect_http_params: bool = _option(
    'plugin_fastapi_collect_http_params',
    'SW_PLUGIN_FASTAPI_COLLECT_HTTP_PARAMS',
    False,
    'Record FastAPI request parameters in `http.params`.',
)
plugin_bottle_collect_http_params: bool = _option(
    'plugin_bottle_collect_http_params',
    'SW_PLUGIN_BOTTLE_COLLECT_HTTP_PARAMS',
    False,
    'Record Bottle request parameters in `http.params`.',
)
plugin_celery_parameters_length: int = _option(
    'plugin_celery_parameters_length',
    'SW_PLUGIN_CELERY_PARAMETERS_LENGTH',
    512,
    'Characters of Celery task arguments kept in `celery.parameters`; 0 does not collect them.',
)
plugin_grpc_ignored_methods: str = _option(
    'plugin_grpc_ignored_methods',
    'SW_PLUGIN_GRPC_IGNORED_METHODS',
    '',
    'Comma-separated full gRPC method names (`/pkg.Service/Method`) that are not traced (case-insensitive).',
    case='upper',
)
plugin_threading_propagate_context: bool = _option(
    'plugin_threading_propagate_context',
    'SW_PLUGIN_THREADING_PROPAGATE_CONTEXT',
    True,
    '(skywalking-rs addition) Continue the trace, with a CrossThread ref, in threads and executor tasks '
    'started inside a span (`Thread.start`, `ThreadPoolExecutor.submit`, `loop.run_in_executor`, '
    "`asyncio.to_thread`); hand-offs that carry the caller's context themselves (asgiref's `sync_to_async`) "
    "stay in the caller's segment. False: work in other threads starts its own traces, as upstream.",
)

# ----------------------------------------------------------------------------------------
_begin('Sampling Configurations')
sample_n_per_3_secs: int = _option(
    'sample_n_per_3_secs',
    'SW_SAMPLE_N_PER_3_SECS',
    0,
    'New traces started per 3 seconds; 0 or less traces everything.',
)

#: Names of all options, in declaration order.
options: list[str] = list(_SPECS)

#: Each option's value at import (environment applied) and its type, as upstream.
options_with_default_value_and_type: dict[str, tuple] = {
    name: (list(globals()[name]) if _SPECS[name].type is list else globals()[name], _SPECS[name].type)
    for name in options
}


def option_specs() -> list[OptionSpec]:
    """Declaration records of every option, for documentation and tooling."""
    return list(_SPECS.values())


def init(**kwargs) -> None:
    """Set configuration options by name, e.g. ``init(agent_name='svc', agent_protocol='http')``.

    Values are stored as given. Raises ``KeyError('Invalid configuration option <name>')`` for
    an unknown name, in which case no option is changed.
    """
    for key in kwargs:
        if key not in _SPECS:
            raise KeyError(f'Invalid configuration option {key}')
    module = globals()
    for key, val in kwargs.items():
        module[key] = val


def _coerce(spec: OptionSpec, value):
    """`value` as `spec.type`; raises ValueError/TypeError when it cannot be."""
    if spec.type is bool:
        if isinstance(value, str):
            return _parse_bool(value, bool(spec.default))
        return bool(value)
    if spec.type is int:
        if isinstance(value, str):
            return int(value.strip())
        if isinstance(value, float) and value != value:
            raise ValueError('NaN')
        return int(value)
    if spec.type is float:
        result = float(value.strip() if isinstance(value, str) else value)
        if result != result:
            raise ValueError('NaN')
        return result
    if spec.type is list:
        if isinstance(value, str):
            return value.split(',')
        return [str(item) for item in value]
    if isinstance(value, (list, tuple)):
        # Comma-separated text options (ignore paths, suffixes, methods) also take a list,
        # as finalize() does; the core reads them as text.
        value = ','.join(str(item) for item in value)
    return _fold('' if value is None else str(value), spec.case)


def snapshot() -> dict[str, object]:
    """Every option's current value, keyed by option name, each as its declared type.

    This is what `agent.start()` hands to the native core. Values set through `init()` or by
    assignment are converted the way environment values are (``'30'`` -> 30, ``'false'`` ->
    False, ``'a,b'`` -> ['a', 'b'], protocol lower-cased); a value that cannot be converted
    is reported by a warning and replaced by the option's default, and so is a number outside
    the option's `bounds` (a queue size of 0, say). Each bad value is reported once.
    """
    module = globals()
    result: dict[str, object] = {}
    for name, spec in _SPECS.items():
        value = module[name]
        try:
            result[name] = _coerce(spec, value)
        except (TypeError, ValueError, OverflowError):
            message = 'Ignoring config.%s=%r: not a valid %s; using %r'
            _warn_once(name, value, message, name, value, spec.type.__name__, spec.default)
            result[name] = _copy_default(spec)
            continue
        if spec.choices is not None and result[name].strip() not in spec.choices:
            message = 'Ignoring config.%s=%r: not one of %s; using the default %r'
            _warn_once(name, value, message, name, value, ', '.join(spec.choices), spec.default)
            result[name] = _copy_default(spec)
        elif spec.choices is not None:
            result[name] = result[name].strip()
        if spec.bounds is not None and not spec.bounds[0] <= result[name] <= spec.bounds[1]:
            low, high = spec.bounds
            why = (
                ' (0 does not mean unbounded or off here: every queue and period is bounded)'
                if result[name] == 0
                else ''
            )
            message = 'Ignoring config.%s=%r: outside %g..%g%s; using the default %r'
            _warn_once(name, value, message, name, value, low, high, why, spec.default)
            result[name] = _copy_default(spec)
    return result


# (option, repr(value)) pairs already warned about, so that each bad value is reported once
# however often `snapshot()` runs (the core takes one at import and one at start).
_warned: set[tuple[str, str]] = set()


def _warn_once(name: str, value: object, message: str, *args) -> None:
    key = (name, repr(value))
    if key not in _warned:
        _warned.add(key)
        logger.warning(message, *args)


def finalize_feature() -> None:
    """Turn off what the chosen protocol cannot carry, with a warning (as upstream).

    HTTP carries neither meters nor profiling; Kafka carries no profiling.
    """
    global agent_profile_active, agent_meter_reporter_active

    protocol = str(agent_protocol).strip().lower()
    if protocol == 'http' and (agent_profile_active or agent_meter_reporter_active):
        agent_profile_active = False
        agent_meter_reporter_active = False
        warnings.warn(
            'The HTTP protocol supports neither the meter reporter nor the profiler; both are turned off. '
            'Use the gRPC protocol for them.',
            stacklevel=2,
        )
    elif protocol == 'kafka' and agent_profile_active:
        agent_profile_active = False
        warnings.warn(
            'The Kafka protocol does not support the profiler; it is turned off. Use the gRPC protocol for it.',
            stacklevel=2,
        )


# What finalize_name() produced last, so that a second call does not add a second suffix.
_finalized: dict[str, str] = {}


def _apply_once(option: str, new_value: str) -> None:
    module = globals()
    if _finalized.get(option) == module[option]:
        return
    module[option] = new_value
    _finalized[option] = new_value


def finalize_name() -> None:
    """Suffix the service name with ``|<agent_namespace>`` and prefix the Kafka topics with
    ``<kafka_namespace>-``, as upstream; calling it again changes nothing more.
    """
    if agent_namespace:
        _apply_once('agent_name', f'{agent_name}|{agent_namespace}')
    if kafka_namespace:
        for topic in ('kafka_topic_management', 'kafka_topic_segment', 'kafka_topic_log', 'kafka_topic_meter'):
            _apply_once(topic, f'{kafka_namespace}-{globals()[topic]}')


def _split(value) -> list[str]:
    """Non-empty, stripped entries of a comma-separated string (or of a list)."""
    items = value.split(',') if isinstance(value, str) else list(value or ())
    return [str(item).strip() for item in items if str(item).strip()]


_ANT_TOKENS = (
    ('/**/', '/(?:[^/]*/)*'),  # a slash, then zero or more whole segments
    ('**', '(?:(?:[^/]+/)*[^/]+)?'),  # zero or more segments, no trailing slash
    ('*', '[^/]*'),  # any run within one segment
    ('?', '[^/]'),  # exactly one character within a segment
)


def ant_to_regex(pattern: str) -> str:
    """Translate one Ant-style path pattern into an (unanchored) regular expression.

    Tokens are taken left to right, longest first, which is how upstream's nested splits
    (``/**/``, then ``**``, then ``*``, then ``?``) read a pattern.
    """
    parts: list[str] = []
    literal_start = 0
    index = 0
    while index < len(pattern):
        for token, regex in _ANT_TOKENS:
            if pattern.startswith(token, index):
                parts.append(re.escape(pattern[literal_start:index]))
                parts.append(regex)
                index += len(token)
                literal_start = index
                break
        else:
            index += 1
    parts.append(re.escape(pattern[literal_start:]))
    return ''.join(parts)


def _alternatives(regexes: list[str]) -> str:
    return '^(?:' + '|'.join(regexes) + ')$' if regexes else '(?!)'


def finalize_regex() -> None:
    """Build `RE_IGNORE_PATH`, `RE_HTTP_IGNORE_METHOD` and `RE_GRPC_IGNORED_METHODS`.

    Same semantics as upstream, except that empty list entries are skipped: upstream turns
    an empty suffix list into ``^.+(?:)$``, which ignores every operation, and an empty path
    list into ``^(?:)$``, which ignores operations named ''. Its method matcher
    ``^A|B$`` is also anchored properly here: ``^(?:A|B)$``.
    """
    global RE_IGNORE_PATH, RE_HTTP_IGNORE_METHOD, RE_GRPC_IGNORED_METHODS

    suffixes = [re.escape(s) for s in _split(agent_ignore_suffix)]
    paths = [ant_to_regex(p) for p in _split(agent_trace_ignore_path)]
    ignore = []
    if suffixes:
        ignore.append('^.+(?:' + '|'.join(suffixes) + ')$')
    if paths:
        ignore.append('^(?:' + '|'.join(paths) + ')$')
    RE_IGNORE_PATH = re.compile('|'.join(ignore) if ignore else '(?!)')

    methods = [re.escape(m) for m in _split(plugin_http_ignore_method)]
    RE_HTTP_IGNORE_METHOD = re.compile(_alternatives(methods), re.IGNORECASE)

    grpc_methods = [re.escape(m) for m in _split(plugin_grpc_ignored_methods)]
    RE_GRPC_IGNORED_METHODS = re.compile(_alternatives(grpc_methods), re.IGNORECASE)


def ignore_http_method_check(method: str):
    """A match (truthy) when requests with HTTP `method` must not be traced."""
    return RE_HTTP_IGNORE_METHOD.match(method)


def ignore_grpc_method_check(method: str):
    """A match (truthy) when calls of the full gRPC `method` name must not be traced."""
    return RE_GRPC_IGNORED_METHODS.match(method)


def finalize() -> None:
    """Run every finalizer; `agent.start()` calls this once per process before `snapshot()`."""
    finalize_feature()
    finalize_regex()
    finalize_name()


finalize_regex()
