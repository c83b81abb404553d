"""The config document: defaults, validation messages that name field, value and expectation."""

from __future__ import annotations

from datetime import date

import pytest

from healthaudit.cli import main
from healthaudit.collect.inventory import HELD_FIELDS
from healthaudit.config import (
    REDIRECTING_SLACK_KEYS,
    AuditConfig,
    ConfigError,
    Thresholds,
    apply_run_overrides,
    config_from_environment,
    config_to_dict,
    load_config,
    parse_config_text,
)
from healthaudit.scope import SCOPE_FIELDS, SECRET_FIELDS


def test_empty_document_gives_the_documented_defaults():
    config = load_config({})
    assert config == AuditConfig()
    assert config.thresholds.max_throttle_rate == 0.01
    assert config.thresholds.max_error_rate == 0.05
    assert config.thresholds.min_invocations_for_error_rate == 20
    assert config.thresholds.max_duration_timeout_ratio == 0.8
    assert config.thresholds.max_iterator_age_seconds == 300
    assert (config.window_hours, config.baseline_days) == (24, 7)


def test_yaml_and_json_read_the_same():
    yaml_text = "thresholds:\n  max_error_rate: 0.1\nscope: \"Tags.team == 'payments'\"\n"
    json_text = '{"thresholds": {"max_error_rate": 0.1}, "scope": "Tags.team == \'payments\'"}'
    assert parse_config_text(yaml_text) == parse_config_text(json_text)


@pytest.mark.parametrize(
    "document, names",
    [
        ({"treshold": {}}, ["config", "'treshold'", "expected one of"]),
        ({"thresholds": {"max_error_rate": "high"}}, ["config.thresholds.max_error_rate", "'high'", "a number"]),
        ({"thresholds": {"max_error_rate": -0.1}}, ["config.thresholds.max_error_rate", "-0.1", "between 0 and 1"]),
        ({"thresholds": {"max_iterator_age_seconds": -1}}, ["max_iterator_age_seconds", "-1", ">= 0"]),
        ({"thresholds": {"min_invocations_for_error_rate": 2.5}}, ["min_invocations_for_error_rate", "2.5", "integer"]),
        ({"thresholds": {"max_error_rate": True}}, ["max_error_rate", "True", "a number"]),
        ({"scope": "Tags.team =="}, ["config.scope", "Tags.team ==", "JMESPath"]),
        ({"scope": 42}, ["config.scope", "42", "a string"]),
        ({"window": {"hours": 0}}, ["config.window.hours", "0", "integer from 1"]),
        ({"window": {"hours": 48, "baseline_days": 7}}, ["config.window", "15 days"]),
        ({"suppressions": [{"check": "nope"}]}, ["config.suppressions[0].check", "'nope'", "expected one of"]),
        ({"suppressions": [{"until": "tomorrow"}]}, ["config.suppressions[0].until", "'tomorrow'", "YYYY-MM-DD"]),
        ({"suppressions": {"check": "throttled"}}, ["config.suppressions", "a list"]),
        ({"disabled_checks": ["throttle"]}, ["config.disabled_checks", "'throttle'", "expected one of"]),
        ({"slack": {"channel": "#alerts"}}, ["config.slack.channel", "'#alerts'", "channel ID"]),
        ({"report": {"prefix": "/abs"}}, ["config.report.prefix", "'/abs'", "relative"]),
        ([], ["config", "[]", "a mapping"]),
    ],
)
def test_invalid_config_names_field_value_and_expectation(document, names):
    with pytest.raises(ConfigError) as error:
        load_config(document)
    for name in names:
        assert name in str(error.value)


def test_unparseable_text_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON or YAML"):
        parse_config_text("thresholds: [unclosed")


@pytest.mark.parametrize(
    "tags, expected_rate, problems",
    [
        ({}, 0.05, 0),
        ({"healthaudit:max_error_rate": "0.2"}, 0.2, 0),
        ({"healthaudit:max_error_rate": "lots"}, 0.05, 1),
        ({"healthaudit:max_error_rate": "2"}, 0.05, 1),  # not a ratio
        ({"healthaudit:no_such_threshold": "1"}, 0.05, 1),
        ({"healthaudit:suppress": "throttled", "team": "x"}, 0.05, 0),  # not a threshold tag
    ],
)
def test_thresholds_overridden_by_tags(tags, expected_rate, problems):
    thresholds, notes = Thresholds().overridden_by_tags(tags)
    assert thresholds.max_error_rate == expected_rate
    assert len(notes) == problems


@pytest.mark.parametrize(
    "suppression, check_id, name, tags, today, suppressed",
    [
        ({"check": "throttled"}, "throttled", "any", {}, date(2026, 1, 1), True),
        ({"check": "throttled"}, "error-rate-high", "any", {}, date(2026, 1, 1), False),
        ({"function": "legacy-*"}, "throttled", "legacy-etl", {}, date(2026, 1, 1), True),
        ({"function": "legacy-*"}, "throttled", "orders", {}, date(2026, 1, 1), False),
        ({"tag": "env=dev"}, "throttled", "f", {"env": "dev"}, date(2026, 1, 1), True),
        ({"tag": "env=dev"}, "throttled", "f", {"env": "prod"}, date(2026, 1, 1), False),
        ({"tag": "experimental"}, "throttled", "f", {"experimental": ""}, date(2026, 1, 1), True),
        ({"until": "2026-06-30"}, "throttled", "f", {}, date(2026, 6, 30), True),  # last day still suppressed
        ({"until": "2026-06-30"}, "throttled", "f", {}, date(2026, 7, 1), False),  # expired
    ],
)
def test_config_suppressions(suppression, check_id, name, tags, today, suppressed):
    config = load_config({"suppressions": [suppression]})
    assert (config.suppression_for(check_id, name, tags, today) is not None) is suppressed


def test_suppression_by_function_tag():
    config = AuditConfig()
    tags = {"healthaudit:suppress": "throttled, cold-start-regression"}
    assert config.suppression_for("throttled", "f", tags, date(2026, 1, 1)) == (
        "tag healthaudit:suppress=throttled, cold-start-regression"
    )
    assert config.suppression_for("error-rate-high", "f", tags, date(2026, 1, 1)) is None
    assert config.suppression_for("error-rate-high", "f", {"healthaudit:suppress": "all"}, date(2026, 1, 1))


def test_scope_is_jmespath_over_configuration_and_tags():
    config = load_config({"scope": "Tags.team == 'payments' && Runtime != 'python3.9'"})
    assert config.in_scope({"Runtime": "python3.12", "Tags": {"team": "payments"}})
    assert not config.in_scope({"Runtime": "python3.9", "Tags": {"team": "payments"}})
    assert not config.in_scope({"Runtime": "python3.12", "Tags": {}})


def test_environment_config_reads_the_ssm_document_and_template_parameters():
    read = {"/healthaudit/config": "thresholds:\n  max_error_rate: 0.2\n"}
    environ = {
        "HEALTHAUDIT_CONFIG_PARAMETER": "/healthaudit/config",
        "HEALTHAUDIT_BUCKET": "reports-bucket",
        "HEALTHAUDIT_SLACK_CHANNEL": "C0123456789",
        "HEALTHAUDIT_SLACK_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:slack",
    }
    config = config_from_environment(environ, read_parameter=read.__getitem__)
    assert config.thresholds.max_error_rate == 0.2
    assert config.bucket == "reports-bucket"
    assert config.slack.channel == "C0123456789"
    assert config.slack.token_secret.endswith(":secret:slack")
    assert config_from_environment({}, read_parameter=read.__getitem__) == AuditConfig()


def test_environment_config_errors_name_the_parameter():
    with pytest.raises(ConfigError, match="SSM parameter /p.thresholds.max_error_rate"):
        config_from_environment({"HEALTHAUDIT_CONFIG_PARAMETER": "/p"}, lambda name: "thresholds: {max_error_rate: 7}")


@pytest.mark.parametrize(
    "detail, error",
    [
        ({"scope": "Tags.team == 'payments'", "notify": False}, None),
        ({"window_hours": 12}, None),
        ({"scope": "(("}, "event.detail.scope"),
        (
            {"scope": "starts_with(Environment.Variables.DB_PASSWORD, 's3cr')"},
            "event.detail.scope: reads 'Environment'",
        ),
        ({"scope": "Team == 'payments'"}, "event.detail.scope: reads unknown field 'Team'"),
        ({"notify": "no"}, "event.detail.notify"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"window_hours": 72}, "15 days"),
    ],
)
def test_manual_run_overrides(detail, error):
    if error:
        with pytest.raises(ConfigError, match=error):
            apply_run_overrides(AuditConfig(), detail)
    else:
        config, notify = apply_run_overrides(AuditConfig(), detail)
        assert notify is detail.get("notify", True)
        assert config.window_hours == detail.get("window_hours", 24)


def test_cli_exits_non_zero_naming_the_bad_field(tmp_path, capsys):
    bad = tmp_path / "config.yaml"
    bad.write_text("thresholds:\n  max_throttle_rate: -1\n")
    assert main(["run", "--region", "eu-west-1", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "thresholds.max_throttle_rate" in err and "-1" in err and "between 0 and 1" in err


def test_cli_missing_config_file_is_named(tmp_path, capsys):
    assert main(["run", "--region", "eu-west-1", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


# -- the scope's allowlist (issue 13) ------------------------------------------------------------


@pytest.mark.parametrize(
    "scope, refused",
    [
        ("Tags.team == 'payments'", None),
        ("Tags.Environment == 'prod'", None),  # a tag named Environment is a tag, not the function's variables
        ("Runtime == 'python3.12' && MemorySize > `512`", None),
        ("Layers[].Arn", None),
        ("Layers[?CodeSize > `0`]", None),  # the filter reads the layers' fields, not the function's
        ("sort_by(Layers, &Arn)", None),
        ("@.Runtime == 'python3.12'", None),
        ("contains(keys(@), 'Environment')", None),  # a literal: the document it sees has no such key
        ("Environment", "'Environment'"),
        ("Environment.Variables.DB_PASSWORD == 's3cr3t'", "'Environment'"),
        ("starts_with(Environment.Variables.DB_PASSWORD, 's3cr')", "'Environment'"),
        ("!Environment", "'Environment'"),
        ("Runtime && Environment", "'Environment'"),
        ("[Runtime, Environment][1]", "'Environment'"),
        ("{v: Environment}", "'Environment'"),
        ("@.Environment", "'Environment'"),
        ("Runtime | Environment", "'Environment'"),
        ("length(Environment.Variables) > `0`", "'Environment'"),
        ("KMSKeyArn", "'KMSKeyArn'"),
        ("ImageConfigResponse.ImageConfig.Command", "'ImageConfigResponse'"),
        ("StateReason", "unknown field 'StateReason'"),  # free text, not on the list
        ("Owner == 'me'", "unknown field 'Owner'"),
        ("tags.team == 'x'", "unknown field 'tags'"),  # JMESPath is case-sensitive
    ],
)
def test_scope_reads_only_the_documented_fields(scope, refused):
    if refused is None:
        assert load_config({"scope": scope}).scope == scope
    else:
        with pytest.raises(ConfigError, match=f"config.scope: reads {refused}"):
            load_config({"scope": scope})


def test_scope_allowlist_holds_no_secret_field_and_inventory_keeps_what_the_scope_reads():
    assert not SCOPE_FIELDS & SECRET_FIELDS
    assert SCOPE_FIELDS - {"Tags"} == HELD_FIELDS


def test_in_scope_sees_only_the_allowlisted_fields_whatever_it_is_handed():
    raw = {"FunctionName": "f", "Environment": {"Variables": {"DB_PASSWORD": "s3cr3t"}}, "KMSKeyArn": "arn:k"}
    assert load_config({"scope": "FunctionName == 'f'"}).in_scope(raw)
    assert not load_config({"scope": "contains(to_string(@), 's3cr3t')"}).in_scope(raw)
    assert not load_config({"scope": "length(keys(@)) > `1`"}).in_scope(raw)


@pytest.mark.parametrize("key", sorted(REDIRECTING_SLACK_KEYS))
def test_slack_redirecting_keys_are_refused_naming_the_key(key):
    with pytest.raises(ConfigError, match=rf"config\.slack\.{key}: refused in the config document"):
        load_config({"slack": {"channel": "C0123456789", key: "anything"}})
    assert key not in config_to_dict(load_config({"slack": {"channel": "C0123456789"}}))["slack"]


@pytest.mark.parametrize(
    "raw, expected",
    [(None, 10), (0, 0), (25, 25), (100_000, 100_000), (-1, None), (100_001, None), ("ten", None), (True, None)],
)
def test_report_collapse_over_is_a_count_of_functions(raw, expected):
    document = {} if raw is None else {"report": {"collapse_over": raw}}
    if expected is None:
        with pytest.raises(ConfigError, match=r"config\.report\.collapse_over"):
            load_config(document, source="config")
    else:
        assert load_config(document, source="config").report_collapse_over == expected
