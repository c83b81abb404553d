"""Console deep links for a finding on a function: its logs in Logs Insights, its X-Ray traces, its CloudTrail events.

Pure: a Region, a function name, its log group and the check go in; https URLs come out. AWS documents
none of these consoles' URL formats; each builder says what it follows, and tests/unit/test_links.py decodes
every URL back to what went in.
"""

from __future__ import annotations

from urllib.parse import quote

#: Checks whose evidence is in REPORT records (memory, init and run durations): their logs link queries those.
REPORT_RECORD_CHECKS = frozenset(
    {"memory-near-limit", "memory-overprovisioned", "cold-start-regression", "duration-near-timeout"}
)
DAY_SECONDS = 86_400
"""The Logs Insights link's time range, relative to when it is opened: the last day (the default window)."""

# Insights queries cover both log formats: text REPORT lines (discovered fields @type, @duration, ...) and
# the JSON format's platform.report records
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html,
# https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html).
REPORT_QUERY = (
    'filter @type = "REPORT" or type = "platform.report"\n'
    "| fields @timestamp, @duration, @maxMemoryUsed, @memorySize, @message\n"
    "| sort @timestamp desc\n"
    "| limit 200"
)
ERRORS_QUERY = (
    "fields @timestamp, @requestId, @message\n"
    "| filter @message like /(?i)(error|exception|task timed out|runtime\\.)/\n"
    "| sort @timestamp desc\n"
    "| limit 200"
)


def default_log_group(function_name: str) -> str:
    """Where Lambda writes a function's logs unless its LoggingConfig.LogGroup names another group."""
    return f"/aws/lambda/{function_name}"


def finding_links(region: str, check_id: str, function_name: str | None, log_group: str | None) -> dict[str, str]:
    """Name -> console URL for a finding; none for an account-wide finding."""
    if not function_name:
        return {}
    query = REPORT_QUERY if check_id in REPORT_RECORD_CHECKS else ERRORS_QUERY
    return {
        "logs_insights": logs_insights_url(region, log_group or default_log_group(function_name), query),
        "xray_traces": xray_traces_url(region, function_name),
        "cloudtrail_events": cloudtrail_events_url(region, function_name),
    }


def logs_insights_url(region: str, log_group: str, query: str, seconds: int = DAY_SECONDS) -> str:
    """Logs Insights with the log group selected and `query` in the editor, over the last `seconds`.

    Undocumented by AWS: the format the console itself writes into its address bar. The hash holds
    `?queryDetail=<detail>`, URL-encoded once and then with every "%" written "$". <detail> is the query's
    settings as a JSURL-like object (`~(key~value~...)`, a list `~(~item~...)`), put through JavaScript's
    escape(); in it a string is "'" followed by its UTF-8 bytes, each byte other than a letter, a digit, "-"
    or "." written as "*" and two hex digits.
    """
    detail = _object(
        (
            ("end", "0"),
            ("start", str(-seconds)),
            ("timeType", _string("RELATIVE")),
            ("unit", _string("seconds")),
            ("editorString", _string(query)),
            ("source", "(~" + _string(log_group) + ")"),
        )
    )
    fragment = _encode_uri_component("?queryDetail=" + _js_escape(detail)).replace("%", "$")
    return f"{_cloudwatch(region)}#logsV2:logs-insights{fragment}"


def xray_traces_url(region: str, function_name: str) -> str:
    """X-Ray traces filtered to the function's segments, over the last day.

    Undocumented by AWS: the X-Ray console's traces route (`#/traces?filter=`), which AWS forwards to the
    CloudWatch console's traces page. The filter expression is documented
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html: `service(id(name, type))`).
    """
    expression = f'service(id(name: "{_quoted(function_name)}", type: "AWS::Lambda::Function"))'
    return (
        f"https://{region}.console.aws.amazon.com/xray/home?region={region}"
        f"#/traces?timeRange=PT24H&filter={quote(expression, safe='')}"
    )


def cloudtrail_events_url(region: str, function_name: str) -> str:
    """CloudTrail event history (the last 90 days of management events) for the function's name: who
    deployed, reconfigured or retagged it. Undocumented by AWS: the event history page's `ResourceName`
    filter, as the console keeps it in its address; LookupEvents' own attribute has the same name
    (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html)."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}"
        f"#/events?ResourceName={quote(function_name, safe='')}"
    )


def _cloudwatch(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"


def _object(items: tuple[tuple[str, str], ...]) -> str:
    return "~(" + "~".join(f"{key}~{value}" for key, value in items) + ")"


def _string(value: str) -> str:
    return "'" + "".join(
        chr(byte) if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "-.") else f"*{byte:02x}"
        for byte in value.encode("utf-8")
    )


#: What JavaScript's escape() leaves as it is.
_JS_ESCAPE_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@*_+-./")


def _js_escape(text: str) -> str:
    """JavaScript's escape() over ASCII text (the detail is ASCII once its strings are encoded)."""
    return "".join(char if char in _JS_ESCAPE_SAFE else f"%{ord(char):02X}" for char in text)


def _encode_uri_component(text: str) -> str:
    """JavaScript's encodeURIComponent(): it leaves letters, digits and - _ . ! ~ * ' ( ) as they are."""
    return quote(text, safe="!~*'()")


def _quoted(name: str) -> str:
    """A function name inside a filter expression's double quotes (names are [a-zA-Z0-9-_], but be safe)."""
    return name.replace("\\", "\\\\").replace('"', '\\"')
