"""One validated config document (JSON or YAML) for the whole audit.

Invalid config fails at start with a message that names the field, the value and what was
expected. The thresholds are those the checks declare (checks/catalogue.py); each can be overridden
here and per function with `healthaudit:<threshold>` tags.
"""

from __future__ import annotations

import fnmatch
import json
import string
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions
import yaml

from .checks.catalogue import all_checks, declared_thresholds
from .checks.registry import Threshold
from .errors import ConfigError
from .model import AuditWindow
from .prices import PriceOverride, load_price_overrides
from .routing import Routes, channel_problem, load_routes
from .scope import SCOPE_FIELDS, parse_scope
from .validate import boolean, date_value, did_you_mean, integer, mapping, optional_string, string_value

TAG_PREFIX = "healthaudit:"
SUPPRESS_TAG = "healthaudit:suppress"


class Thresholds:
    """The thresholds in force: each check's declared defaults, with the given values on top.

    `Thresholds(max_error_rate=0.1)` changes one; a check reads `thresholds.max_error_rate`. Values
    are taken as given: the config document and the tags go through `_coerce_threshold` first.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: float) -> None:
        declared = declared_thresholds()
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise TypeError(f"unknown thresholds {unknown}, expected some of {sorted(declared)}")
        self._values: dict[str, float] = {name: values.get(name, t.default) for name, t in declared.items()}

    def __getattr__(self, name: str) -> float:
        try:
            return object.__getattribute__(self, "_values")[name]
        except KeyError:
            raise AttributeError(f"no threshold named {name!r}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Thresholds) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __repr__(self) -> str:
        return "Thresholds(" + ", ".join(f"{name}={value!r}" for name, value in self._values.items()) + ")"

    def to_dict(self) -> dict[str, float]:
        return dict(self._values)

    def overridden_by_tags(self, tags: Mapping[str, str]) -> tuple[Thresholds, list[str]]:
        """Apply `healthaudit:<threshold>` tags; returns the thresholds and a note per bad tag."""
        changes: dict[str, Any] = {}
        notes: list[str] = []
        declared = declared_thresholds()
        for key, raw in tags.items():
            if not key.startswith(TAG_PREFIX) or key == SUPPRESS_TAG:
                continue
            name = key[len(TAG_PREFIX) :]
            if name not in declared:
                hint = did_you_mean(name, declared)
                notes.append(f"tag {key!r}: unknown threshold{hint}, expected one of {sorted(declared)}")
                continue
            try:
                changes[name] = _coerce_threshold(declared[name], raw, f"tag {key}")
            except ConfigError as error:
                notes.append(str(error))
        return (Thresholds(**{**self._values, **changes}) if changes else self), notes


@dataclass(frozen=True)
class Suppression:
    check: str = "*"
    function: str = "*"
    tag: str | None = None
    until: date | None = None
    reason: str = ""

    def matches(self, check_id: str, function_name: str | None, tags: Mapping[str, str], today: date) -> bool:
        if self.until is not None and today > self.until:
            return False
        if self.check != "*" and self.check != check_id:
            return False
        if not fnmatch.fnmatchcase(function_name or "", self.function):
            return False
        if self.tag is not None:
            key, _, value = self.tag.partition("=")
            if key not in tags or (value and tags[key] != value):
                return False
        return True

    def describe(self) -> str:
        parts = [f"check={self.check}", f"function={self.function}"]
        if self.tag:
            parts.append(f"tag={self.tag}")
        if self.until:
            parts.append(f"until={self.until.isoformat()}")
        text = "config suppression (" + ", ".join(parts) + ")"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(frozen=True)
class SlackConfig:
    channel: str | None = None
    """Channel ID for chat.postMessage with a bot token."""
    token_secret: str | None = None
    """Secrets Manager name or ARN holding the bot token (or JSON with a `token` key).

    Without one, the token is read from SLACK_BOT_TOKEN (CLI use). Neither the variable nor the
    Slack API's address can be named in the config document: see REDIRECTING_SLACK_KEYS.
    """
    max_findings: int = 10
    post_when_healthy: bool = True
    """On a day without findings, post a one-line "all healthy" (true) or stay silent (false)."""
    timeout_seconds: int = 10
    """How long one request to Slack may take; a request that times out is retried by Lambda."""


@dataclass(frozen=True)
class AuditConfig:
    window_hours: int = 24
    baseline_days: int = 7
    thresholds: Thresholds = field(default_factory=Thresholds)
    scope: str | None = None
    suppressions: tuple[Suppression, ...] = ()
    disabled_checks: tuple[str, ...] = ()
    slack: SlackConfig | None = None
    bucket: str | None = None
    report_prefix: str = "reports/"
    report_collapse_over: int = 10
    """A check firing on more functions than this takes one row of the HTML report's triage table."""
    report_viewer_url: str | None = None
    """Where the digest links a stored report: an https URL with {key} (and optionally {bucket}, {region})
    placeholders; by default the S3 console's page of the object. Never a pre-signed URL, which dies
    with the Lambda role's session."""
    max_concurrent_queries: int = 20
    """Logs Insights queries in flight at once; the account's quota is 100 for everyone."""
    query_deadline_seconds: int = 300
    routes: Routes | None = None
    lambda_prices: Mapping[str, PriceOverride] = field(default_factory=dict)
    """The config's own Lambda prices by architecture (`prices.lambda`), over healthaudit.prices' table."""
    """Findings to their owners' channels by a tag (healthaudit.routing); None: one digest to slack.channel."""

    def window_ending_at(self, at: datetime) -> AuditWindow:
        """The audit window (and its baseline) this config gives a run that ends at `at`."""
        return AuditWindow.ending_at(at, hours=self.window_hours, baseline_days=self.baseline_days)

    def in_scope(self, document: Mapping[str, Any]) -> bool:
        """Whether the function is audited; the scope sees only the SCOPE_FIELDS of its configuration."""
        if not self.scope:
            return True
        return bool(jmespath.search(self.scope, {k: v for k, v in document.items() if k in SCOPE_FIELDS}))

    def suppression_for(
        self, check_id: str, function_name: str | None, tags: Mapping[str, str], today: date
    ) -> str | None:
        tagged = {item.strip() for item in tags.get(SUPPRESS_TAG, "").split(",") if item.strip()}
        if check_id in tagged or "all" in tagged:
            return f"tag {SUPPRESS_TAG}={tags[SUPPRESS_TAG]}"
        for suppression in self.suppressions:
            if suppression.matches(check_id, function_name, tags, today):
                return suppression.describe()
        return None


REDIRECTING_SLACK_KEYS = {
    "api_url": "the Slack API's address is fixed; a local test server is named by HEALTHAUDIT_SLACK_API_URL"
    " (loopback only) or `healthaudit run --slack-api-url`",
    "token_env": "the token comes from slack.token_secret, or from SLACK_BOT_TOKEN when none is named",
}
"""Keys that would send the Slack token (or the function's own credentials, with token_env:
AWS_SESSION_TOKEN) wherever the config document says: refused, naming the key."""

_TOP_LEVEL = {
    "window",
    "thresholds",
    "scope",
    "suppressions",
    "disabled_checks",
    "slack",
    "report",
    "logs",
    "routes",
    "prices",
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key that appears twice in one mapping (YAML 1.2 forbids it,
    PyYAML keeps the last): in a config, the first of two `window:` keys would be silently lost.

    It keeps its own copy of the safe constructors: other libraries (the SAM CLI's yamlhelper, for
    one) register theirs on yaml.SafeLoader for the whole process.
    """

    yaml_constructors = dict(yaml.constructor.SafeConstructor.yaml_constructors)
    yaml_multi_constructors = dict(yaml.constructor.SafeConstructor.yaml_multi_constructors)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_config_text(text: str, source: str = "config") -> AuditConfig:
    """JSON or YAML text to a validated config."""
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader) if text.strip() else {}  # noqa: S506  # a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid JSON or YAML ({error})") from None
    return load_config(document if document is not None else {}, source)


def load_config_file(path: str) -> AuditConfig:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ConfigError(f"config file {path!r}: cannot be read ({error.strerror})") from None
    return parse_config_text(text, source=path)


def load_config(document: Any, source: str = "config") -> AuditConfig:
    doc = mapping(document, source, _TOP_LEVEL)
    window = mapping(doc.get("window", {}), f"{source}.window", {"hours", "baseline_days"})
    thresholds = _load_thresholds(doc.get("thresholds", {}), f"{source}.thresholds")
    report = mapping(doc.get("report", {}), f"{source}.report", {"bucket", "prefix", "viewer_url", "collapse_over"})
    logs = mapping(doc.get("logs", {}), f"{source}.logs", {"max_concurrent_queries", "query_deadline_seconds"})
    config = AuditConfig(
        window_hours=integer(window.get("hours", 24), f"{source}.window.hours", 1, 24 * 14),
        baseline_days=integer(window.get("baseline_days", 7), f"{source}.window.baseline_days", 1, 14),
        thresholds=thresholds,
        scope=parse_scope(doc.get("scope"), f"{source}.scope"),
        suppressions=tuple(_load_suppressions(doc.get("suppressions", []), f"{source}.suppressions")),
        disabled_checks=tuple(_check_ids(doc.get("disabled_checks", []), f"{source}.disabled_checks")),
        slack=_load_slack(doc.get("slack"), f"{source}.slack"),
        routes=load_routes(doc.get("routes"), f"{source}.routes", doc.get("slack")),
        lambda_prices=load_price_overrides(doc.get("prices"), f"{source}.prices"),
        bucket=optional_string(report.get("bucket"), f"{source}.report.bucket"),
        report_prefix=_prefix(report.get("prefix", "reports/"), f"{source}.report.prefix"),
        report_viewer_url=_viewer_url(report.get("viewer_url"), f"{source}.report.viewer_url"),
        report_collapse_over=integer(report.get("collapse_over", 10), f"{source}.report.collapse_over", 0, 100_000),
        max_concurrent_queries=integer(
            logs.get("max_concurrent_queries", 20), f"{source}.logs.max_concurrent_queries", 1, 90
        ),
        query_deadline_seconds=integer(
            logs.get("query_deadline_seconds", 300), f"{source}.logs.query_deadline_seconds", 10, 840
        ),
    )
    return _checked_window(config, f"{source}.window")


def _checked_window(config: AuditConfig, path: str) -> AuditConfig:
    if config.window_hours * (config.baseline_days + 1) > 24 * 15:
        raise ConfigError(
            f"{path}: {config.window_hours} hours x {config.baseline_days + 1} windows reaches past 15 days;"
            " expected the window and its baseline within CloudWatch's 15 days of fine-grained data"
        )
    return config


def config_to_dict(config: AuditConfig) -> dict[str, Any]:
    """The effective config, for `healthaudit run --format json` and the docs."""
    return json.loads(json.dumps(_plain(config), default=str))


def _plain(value: Any) -> Any:
    if isinstance(value, Thresholds):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _load_thresholds(raw: Any, path: str) -> Thresholds:
    declared = declared_thresholds()
    values = mapping(raw, path, set(declared))
    return Thresholds(
        **{name: _coerce_threshold(declared[name], value, f"{path}.{name}") for name, value in values.items()}
    )


def _coerce_threshold(threshold: Threshold, raw: Any, path: str) -> Any:
    expected_int = threshold.integer
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = int(raw) if expected_int else float(raw)
        except ValueError:
            value = raw
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: got {raw!r}, expected {'an integer' if expected_int else 'a number'}")
    if expected_int and value != int(value):
        raise ConfigError(f"{path}: got {raw!r}, expected an integer")
    problem = threshold.problem(value)
    if problem:
        raise ConfigError(f"{path}: got {raw!r}, expected {problem}")
    return int(value) if expected_int else float(value)


def _load_suppressions(raw: Any, path: str) -> list[Suppression]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: got {raw!r}, expected a list of suppressions")
    result = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        entry = mapping(item, where, {"check", "function", "tag", "until", "reason"})
        check_id = string_value(entry.get("check", "*"), f"{where}.check")
        if check_id != "*":
            _check_ids([check_id], f"{where}.check")
        tag = optional_string(entry.get("tag"), f"{where}.tag")
        if tag is not None and not tag.partition("=")[0]:
            raise ConfigError(f"{where}.tag: got {tag!r}, expected 'key' or 'key=value'")
        result.append(
            Suppression(
                check=check_id,
                function=string_value(entry.get("function", "*"), f"{where}.function"),
                tag=tag,
                until=date_value(entry.get("until"), f"{where}.until"),
                reason=string_value(entry.get("reason", ""), f"{where}.reason"),
            )
        )
    return result


def _load_slack(raw: Any, path: str) -> SlackConfig | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        for key, why in REDIRECTING_SLACK_KEYS.items():
            if key in raw:
                raise ConfigError(f"{path}.{key}: refused in the config document ({why})")
        if "report_link_hours" in raw:
            raise ConfigError(
                f"{path}.report_link_hours: no longer used; the digest links to the report in the S3 console"
                " (or report.viewer_url), a link that does not expire: remove the key"
            )
    entry = mapping(raw, path, {f.name for f in fields(SlackConfig)})
    channel = optional_string(entry.get("channel"), f"{path}.channel")
    if channel is not None and (problem := channel_problem(channel, f"{path}.channel")):
        raise problem
    return SlackConfig(
        channel=channel,
        token_secret=optional_string(entry.get("token_secret"), f"{path}.token_secret"),
        max_findings=integer(entry.get("max_findings", 10), f"{path}.max_findings", 1, 40),
        post_when_healthy=boolean(entry.get("post_when_healthy", True), f"{path}.post_when_healthy"),
        timeout_seconds=integer(entry.get("timeout_seconds", 10), f"{path}.timeout_seconds", 1, 60),
    )


def _check_ids(raw: Any, path: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{path}: got {raw!r}, expected a list of check ids")
    known = {spec.id for spec in all_checks()}
    for item in raw:
        if item not in known:
            raise ConfigError(f"{path}: got {item!r}{did_you_mean(item, known)}, expected one of {sorted(known)}")
    return list(raw)


def _prefix(raw: Any, path: str) -> str:
    prefix = string_value(raw, path)
    if prefix.startswith("/") or ".." in prefix.split("/"):
        raise ConfigError(f"{path}: got {raw!r}, expected a relative S3 key prefix such as 'reports/'")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


VIEWER_URL_PLACEHOLDERS = frozenset({"bucket", "key", "region"})


def _viewer_url(raw: Any, path: str) -> str | None:
    """An https URL template naming {key}, with no placeholder but {bucket}, {key} and {region}."""
    if raw is None:
        return None
    url = string_value(raw, path)
    expected = "expected an https URL with a {key} placeholder, such as https://reports.example.com/view?key={key}"
    try:
        placeholders = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(url)]
    except ValueError:
        raise ConfigError(f"{path}: got {url!r}, unbalanced braces; {expected}") from None
    names = {name for name, _, _ in placeholders if name is not None}
    if names - VIEWER_URL_PLACEHOLDERS or any(spec or conversion for name, spec, conversion in placeholders if name):
        raise ConfigError(f"{path}: got {url!r}, expected only the placeholders {{bucket}}, {{key}} and {{region}}")
    parts = urlsplit(url.format(bucket="b", key="k", region="r"))
    if parts.scheme != "https" or not parts.hostname or parts.username or "key" not in names:
        raise ConfigError(f"{path}: got {url!r}, {expected}")
    return url


def config_from_environment(environ: Mapping[str, str], read_parameter: Callable[[str], str]) -> AuditConfig:
    """The deployed function's config: the SSM document, then the template's parameters on top.

    HEALTHAUDIT_CONFIG_PARAMETER names the SSM parameter holding the document (optional);
    HEALTHAUDIT_BUCKET, HEALTHAUDIT_SLACK_SECRET_ARN and HEALTHAUDIT_SLACK_CHANNEL come from the template.
    """
    parameter = environ.get("HEALTHAUDIT_CONFIG_PARAMETER", "")
    config = (
        parse_config_text(read_parameter(parameter), source=f"SSM parameter {parameter}")
        if parameter
        else AuditConfig()
    )
    bucket = environ.get("HEALTHAUDIT_BUCKET") or config.bucket
    secret = environ.get("HEALTHAUDIT_SLACK_SECRET_ARN") or None
    channel = environ.get("HEALTHAUDIT_SLACK_CHANNEL") or None
    slack = config.slack
    if secret or channel:
        slack = replace(
            slack or SlackConfig(), **{k: v for k, v in (("token_secret", secret), ("channel", channel)) if v}
        )
        load_config({"slack": {"channel": slack.channel}}, source="environment HEALTHAUDIT_SLACK_CHANNEL")
    return replace(config, bucket=bucket, slack=slack)


MANUAL_RUN_OVERRIDES = {"scope", "window_hours", "notify"}


def apply_run_overrides(config: AuditConfig, detail: Any, source: str = "event.detail") -> tuple[AuditConfig, bool]:
    """A manual run's overrides (narrower scope, another window, no Slack post); returns (config, notify)."""
    overrides = mapping(detail if detail is not None else {}, source, MANUAL_RUN_OVERRIDES)
    changes: dict[str, Any] = {}
    if "scope" in overrides:
        changes["scope"] = parse_scope(overrides["scope"], f"{source}.scope")
    if "window_hours" in overrides:
        changes["window_hours"] = integer(overrides["window_hours"], f"{source}.window_hours", 1, 24 * 14)
    notify = boolean(overrides.get("notify", True), f"{source}.notify")
    return _checked_window(replace(config, **changes), f"{source}.window_hours"), notify
