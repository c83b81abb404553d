"""Deep links on findings (healthaudit.links): each URL parses, names the Region and the function or log group,
and a Logs Insights link's query decodes back to its text.

AWS documents none of these console URL formats. The Logs Insights encoding is checked against a link the
console itself wrote (CONSOLE_EXAMPLE), decoded with the same decoder the round trips use.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from healthaudit.links import (
    ERRORS_QUERY,
    REPORT_QUERY,
    cloudtrail_events_url,
    logs_insights_url,
    xray_traces_url,
)
from healthaudit.model import Finding
from tests.support.reports import a_finding

# A Logs Insights link as the console wrote it (posted with the question "Generate AWS Logs Insights URL with
# query and search criteria"; its queryId and log group name were masked by its author).
CONSOLE_EXAMPLE = (
    "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:logs-insights"
    "$3FqueryDetail$3D$257E$2528end$257E$25272021-07-18T20*3a59*3a59.000Z$257Estart$257E$25272021-07-15T21*3a00"
    "*3a00.000Z$257EtimeType$257E$2527ABSOLUTE$257Etz$257E$2527Local$257EeditorString$257E$2527fields*20*40"
    "timestamp*2c*20*40message*0a*7c*20sort*20*40timestamp*20desc*0a*7c*20filter*20*40message*20*3d*7e*20*22"
    "Exception*22*0a*7c*20limit*20200$257EisLiveTail$257Efalse$257EqueryId$257E$2527####$257Esource$257E$2528"
    "$257E$2527*2faws*2flambda*2f######$2529$2529$26tab$3Dlogs"
)
CONSOLE_QUERY = 'fields @timestamp, @message\n| sort @timestamp desc\n| filter @message =~ "Exception"\n| limit 200'


def query_detail(url: str) -> dict:
    """The settings a Logs Insights link carries, decoded the way the console reads them."""
    fragment = urlsplit(url).fragment
    assert fragment.startswith("logsV2:logs-insights")
    once = unquote(fragment.removeprefix("logsV2:logs-insights").replace("$", "%"))
    assert once.startswith("?queryDetail=")
    detail = unquote(once.removeprefix("?queryDetail=").split("&")[0])  # JavaScript's unescape(), ASCII
    assert detail.startswith("~(")
    value, end = _value(detail, 1)
    assert end == len(detail)
    return value


def _value(text: str, at: int):
    if text[at] == "(":
        if text[at + 1] == "~":
            items, at = [], at + 2
            while True:
                item, at = _value(text, at)
                items.append(item)
                if text[at] == ")":
                    return items, at + 1
                at += 1
        result, at = {}, at + 1
        while True:
            key_end = text.index("~", at)
            key = text[at:key_end]
            result[key], at = _value(text, key_end + 1)
            if text[at] == ")":
                return result, at + 1
            at += 1
    end = at
    while end < len(text) and text[end] not in "~)":
        end += 1
    raw = text[at:end]
    if raw.startswith("'"):
        return unquote(raw[1:].replace("*", "%")), end
    return {"true": True, "false": False}.get(raw, raw if not raw.lstrip("-").isdigit() else int(raw)), end


def test_the_decoder_reads_a_link_the_console_wrote():
    detail = query_detail(CONSOLE_EXAMPLE)
    assert detail["editorString"] == CONSOLE_QUERY
    assert detail["source"] == ["/aws/lambda/######"]
    assert (detail["timeType"], detail["isLiveTail"]) == ("ABSOLUTE", False)


def test_a_query_is_encoded_as_the_console_encodes_it():
    url = logs_insights_url("eu-west-1", "/aws/lambda/######", CONSOLE_QUERY)
    console_editor = CONSOLE_EXAMPLE[CONSOLE_EXAMPLE.index("$2527fields") : CONSOLE_EXAMPLE.index("$257EisLiveTail")]
    # The example's author masked its log group's name with "#" after the console wrote it: compare its prefix.
    console_source = CONSOLE_EXAMPLE[CONSOLE_EXAMPLE.index("$257Esource") : CONSOLE_EXAMPLE.index("######")]
    assert console_editor in url
    assert console_source in url


@pytest.mark.parametrize(
    "region, log_group, query",
    [
        ("eu-west-1", "/aws/lambda/orders-api", ERRORS_QUERY),
        ("us-east-1", "/aws/lambda/report-builder", REPORT_QUERY),
        ("ap-southeast-2", "/custom/orders-events", "fields @message | filter @message like /~(x)'*%&=+?#$/"),
        ("eu-central-1", "/aws/lambda/café_fn", "fields @message | filter @message like 'naïve ✓'"),
    ],
)
def test_a_logs_insights_link_decodes_back_to_its_log_group_and_query(region, log_group, query):
    url = logs_insights_url(region, log_group, query)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", f"{region}.console.aws.amazon.com", "/cloudwatch/home")
    assert parse_qs(parts.query) == {"region": [region]}
    detail = query_detail(url)
    assert detail["source"] == [log_group]
    assert detail["editorString"] == query
    assert (detail["start"], detail["end"], detail["unit"], detail["timeType"]) == (-86400, 0, "seconds", "RELATIVE")


def test_an_x_ray_link_filters_to_the_functions_segments_in_its_region():
    parts = urlsplit(xray_traces_url("eu-west-1", "orders-api"))
    assert (parts.netloc, parse_qs(parts.query)) == ("eu-west-1.console.aws.amazon.com", {"region": ["eu-west-1"]})
    route, _, query = parts.fragment.partition("?")
    assert route == "/traces"
    assert parse_qs(query) == {
        "timeRange": ["PT24H"],
        "filter": ['service(id(name: "orders-api", type: "AWS::Lambda::Function"))'],
    }


def test_a_cloudtrail_link_looks_up_the_functions_name_in_its_region():
    parts = urlsplit(cloudtrail_events_url("us-west-2", "orders-api"))
    assert (parts.netloc, parts.path) == ("us-west-2.console.aws.amazon.com", "/cloudtrailv2/home")
    assert parse_qs(parts.query) == {"region": ["us-west-2"]}
    route, _, query = parts.fragment.partition("?")
    assert (route, parse_qs(query)) == ("/events", {"ResourceName": ["orders-api"]})


def finding(check_id: str, function_name: str | None = "orders-api", log_group: str | None = None) -> Finding:
    return a_finding(check_id, function_name, log_group=log_group)


@pytest.mark.parametrize(
    "check_id, query",
    [
        ("error-rate-high", ERRORS_QUERY),
        ("trace-errors-high", ERRORS_QUERY),
        ("memory-overprovisioned", REPORT_QUERY),
        ("memory-near-limit", REPORT_QUERY),
        ("cold-start-regression", REPORT_QUERY),
        ("duration-near-timeout", REPORT_QUERY),
    ],
)
def test_a_findings_logs_link_queries_its_errors_or_its_report_records(check_id, query):
    links = finding(check_id).to_dict()["links"]
    assert set(links) == {"logs_insights", "xray_traces", "cloudtrail_events"}
    assert all(url.startswith("https://eu-west-1.console.aws.amazon.com/") for url in links.values())
    assert query_detail(links["logs_insights"]) == query_detail(
        logs_insights_url("eu-west-1", "/aws/lambda/orders-api", query)
    )


def test_a_function_logging_to_its_own_log_group_is_linked_to_that_group():
    links = finding("error-rate-high", log_group="/custom/orders-events").links
    assert query_detail(links["logs_insights"])["source"] == ["/custom/orders-events"]


def test_an_account_wide_finding_has_no_function_links():
    assert finding("concurrency-near-limit", function_name=None).to_dict()["links"] == {}


def test_links_are_written_not_read_back():
    written = finding("error-rate-high").to_dict()
    assert Finding.from_dict(written).to_dict() == written
