"""The HTML report: rendered from real report dicts and opened in headless Chromium.

Chromium dumps the DOM it built and takes a screenshot into test-artifacts/; the DOM is parsed to
check what a reader would see: every finding, text where a name tried to be markup, a chart for
every series, and nothing loaded from the network or logged to the console. The layout is read
through the DevTools protocol at 1,400 and 390 px (element boxes from getBoundingClientRect): the
triage table above the first detail card, the first finding above the fold, and nothing wider
than the screen outside the tables' scroll wrappers; full-page screenshots go to test-artifacts/.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from healthaudit.checks.cold_start_regression import cold_start_regression
from healthaudit.checks.registry import REGISTRY
from healthaudit.config import Thresholds
from healthaudit.model import (
    AuditReport,
    AuditWindow,
    CoverageGap,
    DataSource,
    Finding,
    FunctionSummary,
    MetricSeries,
    Severity,
    TraceNode,
)
from healthaudit.model.report import FleetDay
from healthaudit.publish.charts import MAP_COLOURS, distribution_chart, series_chart, service_map
from healthaudit.publish.evidence import quantity
from healthaudit.publish.html import html_key, render_html
from healthaudit.schema import load_report_schema
from healthaudit.stats import percentile
from tests.support.devtools import Browser
from tests.support.snapshots import account, function, log_stats

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = "<script>alert(1)</script>"
CHANNEL = "<!channel>"
WINDOW = AuditWindow.ending_at(datetime(2024, 5, 2, 6, 30, tzinfo=UTC))


# -- reports -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_report(demo_run) -> dict:
    """The report `healthaudit demo` stores: the real pipeline against the seeded sandbox."""
    # Its exit status says whether every planted problem was found: that is test_pipeline's business.
    report = demo_run.output / "demo-report.json"
    assert report.exists(), demo_run.result.stdout[-2000:] + demo_run.result.stderr[-2000:]
    return json.loads(report.read_text())


def hourly(metric: str, stat: str, values: list[float], skip: frozenset[int] = frozenset()) -> MetricSeries:
    hours = [i for i in range(len(values)) if i not in skip]
    return MetricSeries(
        metric,
        stat,
        tuple(WINDOW.start + timedelta(hours=i) for i in hours),
        tuple(values[i] for i in hours),
    )


def hostile_report() -> dict:
    """Names, tags and messages that try to be markup or Slack mentions, in every part of the page."""
    rng = random.Random(7)
    baseline = [round(rng.gauss(310, 35), 1) for _ in range(160)]
    current = [round(rng.gauss(520, 70), 1) for _ in range(140)]
    common = dict(account="123456789012", region="eu-west-1")

    def arn(name: str) -> str:
        return f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"

    def finding(check_id, title, severity, name, message, **extra) -> Finding:
        return Finding(
            check_id,
            title,
            severity,
            message=message,
            remediation=extra.pop("remediation", f"Remedy for {check_id}."),
            docs=extra.pop("docs", "https://docs.aws.amazon.com/lambda/latest/dg/lambda-monitoring.html"),
            function_name=name,
            function_arn=arn(name) if name else None,
            **common,
            **extra,
        )

    errors = [2, 1, 0, 3, 2, 1, 4, 2, 90, 140, 120, 60, 8, 3, 2, 1, 0, 2, 1, 3, 2, 1, 0, 1]
    findings = (
        finding(
            "error-rate-high",
            "Error rate is high",
            Severity.CRITICAL,
            SCRIPT,
            f"{SCRIPT} failed 7% of 5,000 invocations; tag owner={CHANNEL}",
            evidence={SCRIPT: CHANNEL, "errors": 350.0, "error_rate": 0.07, "tags": {"owner": CHANNEL}},
            series=(hourly("Errors", "Sum", errors), hourly("Invocations", "Sum", [200.0 + 5 * i for i in range(24)])),
        ),
        finding(
            "cold-start-regressed",
            "Cold starts got slower",
            Severity.HIGH,
            "checkout-api",
            "p95 init duration rose from 370 ms to 640 ms",
            evidence={
                "baseline_p50_ms": percentile(baseline, 50),
                "baseline_p95_ms": percentile(baseline, 95),
                "current_p50_ms": percentile(current, 50),
                "current_p95_ms": percentile(current, 95),
                "baseline_samples": baseline,
                "current_samples": current,
            },
            status="ongoing",
            first_seen="2024-04-29T06:00:00Z",
        ),
        finding(
            "duration-near-timeout",
            "Duration is close to the timeout",
            Severity.MEDIUM,
            "pdf-export",
            "p99 duration 27000 ms is 90% of the 30 s timeout",
            evidence={"p99_duration_ms": 27000.0, "timeout_ms": 30000},
            series=(hourly("Duration", "p99", [21000.0 + 250 * i for i in range(24)], skip=frozenset({5, 6, 7})),),
            docs="javascript:alert(1)",
        ),
        finding(
            "concurrency-near-limit",
            "Account concurrency is close to its limit",
            Severity.LOW,
            None,
            "peak 900 of 1000",
            evidence={"peak": 900.0, "limit": 1000},
        ),
        finding(
            "runtime-deprecated",
            "Runtime is deprecated",
            Severity.MEDIUM,
            "legacy-etl",
            "python3.8 was deprecated in October 2024",
            suppressed_by=f"tag healthaudit:suppress=runtime-deprecated ({SCRIPT})",
        ),
    )
    return AuditReport(
        account="123456789012",
        region="eu-west-1",
        window=WINDOW,
        functions_audited=4,
        functions=(
            FunctionSummary(SCRIPT, arn(SCRIPT), "python3.12", "unhealthy"),
            FunctionSummary("checkout-api", arn("checkout-api"), "nodejs20.x", "unhealthy"),
            FunctionSummary("pdf-export", arn("pdf-export"), None, "unhealthy"),
            FunctionSummary(CHANNEL, arn(CHANNEL), "python3.12", "unknown"),
            FunctionSummary("legacy-etl", arn("legacy-etl"), "python3.8", "healthy"),
        ),
        findings=findings,
        coverage_gaps=(CoverageGap(DataSource.TAGS, f"AccessDenied for {SCRIPT}", CHANNEL, arn(CHANNEL)),),
        api_calls={"GetMetricData": 2, "ListFunctions": 1, SCRIPT: 1},
        metric_queries={"fleet": 40, "series": 4},
        scope=f"tag:team={CHANNEL}",
        notes=(f"{CHANNEL}: threshold tag {SCRIPT} is not a number; the default threshold applies",),
        resolved=(
            finding(
                "throttled", "Function is throttled", Severity.HIGH, "orders-api", "was throttled", status="resolved"
            ),
        ),
        previous_report="reports/dt=2024-05-01/account=123456789012/region=eu-west-1/report.json",
    ).to_dict()


# -- pure rendering (no browser) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "key, expected",
    [
        (
            "reports/dt=2024-05-02/account=123456789012/region=eu-west-1/report.json",
            "reports/dt=2024-05-02/account=123456789012/region=eu-west-1/report.html",
        ),
        (
            "latest/account=123456789012/region=eu-west-1/report.json",
            "latest/account=123456789012/region=eu-west-1/report.html",
        ),
        ("report.json.json", "report.json.html"),
    ],
)
def test_html_key(key, expected):
    assert html_key(key) == expected


def test_html_key_refuses_a_key_that_is_not_json():
    with pytest.raises(ValueError):
        html_key("reports/report.html")


def test_the_hostile_report_is_a_valid_report():
    assert Draft202012Validator(load_report_schema()).is_valid(hostile_report())


def test_everything_from_the_report_is_escaped():
    page = render_html(AuditReport.from_dict(hostile_report()))
    assert SCRIPT not in page and CHANNEL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;!channel&gt;" in page
    assert "<script" not in page.lower()
    assert 'href="javascript:' not in page  # a docs value that is not an https URL stays text


def test_the_page_links_only_to_the_console_and_the_docs(demo_report):
    for report in (demo_report, hostile_report()):
        page = render_html(AuditReport.from_dict(report))
        written = AuditReport.from_dict(report).to_dict()  # the deep links as this version writes them
        allowed = {f["console_url"] for f in report["findings"] + report["resolved"]}
        allowed |= {f["docs"] for f in report["findings"] + report["resolved"]}
        allowed |= {url for f in written["findings"] + written["resolved"] for url in f["links"].values()}
        urls = re.findall(r"""\b(src|href|xlink:href|action|srcset|poster|data)\s*=\s*["']?([^"'\s>]+)""", page, re.I)
        assert not [(attr, url) for attr, url in urls if attr.lower() != "href"], "nothing may be loaded"
        external = {html.unescape(url) for _, url in urls if re.match(r"(?i)(https?:)?//", url)}
        assert external <= allowed
        assert "url(" not in page and "@import" not in page


@pytest.mark.parametrize(
    "values, timestamps, expect",
    [
        ([], [], "no datapoints"),  # CloudWatch returned nothing
        ([0.0, 0.0, 0.0], None, "zero in every hour"),  # flat zero: no division by zero
        ([5.0], None, "<rect"),  # a single hour
        ([1.0, math.nan, math.inf, 3.0], None, "<rect"),  # non-finite values are left out
        ([1e9, 2.5e9], None, "2.5G"),  # large values: compact axis labels
    ],
)
def test_series_chart_edges(values, timestamps, expect):
    if timestamps is None:
        timestamps = [(WINDOW.start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(len(values))]
    document = {"metric": "Throttles", "stat": "Sum", "timestamps": timestamps, "values": values}
    chart = series_chart(MetricSeries.from_dict(document))
    assert expect in chart
    assert not re.search(r'="[^"]*(nan|inf)', chart, re.I)  # no coordinate is NaN or infinite


def test_a_series_with_unparseable_timestamps_is_refused_where_the_report_is_read():
    """The renderer takes typed series; a stored report whose timestamps are not ISO 8601 fails in from_dict."""
    document = {"metric": "Throttles", "stat": "Sum", "timestamps": ["not a time", "either"], "values": [1.0, 2.0]}
    with pytest.raises(ValueError):
        MetricSeries.from_dict(document)


@pytest.mark.parametrize("stat, mark", [("Sum", "<rect"), ("Maximum", "<polyline"), ("p99", "<polyline")])
def test_series_chart_draws_sums_as_bars_and_other_statistics_as_lines(stat, mark):
    assert mark in series_chart(hourly("Duration", stat, [100.0, 250.0, 175.0]))


def test_series_chart_places_points_by_hour_when_hours_are_missing():
    def bar_xs(series: MetricSeries) -> list[float]:
        return [float(x) for x in re.findall(r'<rect class="bar" x="([\d.]+)"', series_chart(series))]

    every_hour = bar_xs(hourly("Errors", "Sum", [1.0] * 10))
    first_and_last = bar_xs(hourly("Errors", "Sum", [1.0] * 10, skip=frozenset(range(1, 9))))
    assert first_and_last == pytest.approx([every_hour[0], every_hour[9]], abs=0.1)


@pytest.mark.parametrize(
    "baseline, current, expect",
    [
        ([], [], None),
        ([100.0, 120.0, 140.0], [], "baseline: 3 samples"),
        ([], [400.0, 410.0], "current: 2 samples"),
        ([250.0] * 5, [250.0] * 5, "p95 250 ms"),  # every sample equal: no zero-width bins
        ([1.0, "x", None, math.nan, 2.0], [3.0], "baseline: 2 samples"),  # junk is left out
    ],
)
def test_distribution_chart_edges(baseline, current, expect):
    chart = distribution_chart(baseline, current)
    if expect is None:
        assert chart == ""
    else:
        assert "<svg" in chart and expect in chart


def test_the_init_duration_chart_shows_the_p50_and_p95_of_the_cold_start_finding():
    """One percentile, nearest rank as CloudWatch's pNN statistics: the chart's p50 and p95 text is the evidence's."""
    rng = random.Random(17)
    baseline = [round(rng.gauss(400, 40), 1) for _ in range(150)]
    current = [round(rng.gauss(780, 60), 1) for _ in range(120)]
    fn = function(
        logs_current=log_stats(invocations=12_000, init_durations=current),
        logs_baseline=log_stats(invocations=15_000, init_durations=baseline),
    )
    (observation,) = cold_start_regression(fn, Thresholds())
    finding = REGISTRY["cold-start-regression"].to_finding(account(), observation)
    report = AuditReport("123456789012", "eu-west-1", WINDOW, 1, (), (finding,), (), {}, {})
    page = render_html(report)
    stored = json.loads(json.dumps(report.to_dict()))
    assert render_html(AuditReport.from_dict(stored)) == page  # the same page from S3's JSON

    def evidence_text(label: str) -> str:
        (text,) = re.findall(rf'<th scope="row">{label}</th><td[^>]*>([^<]*) ms</td>', page)
        return text

    legend = {
        name: (p50, p95) for name, p50, p95 in re.findall(r"(\w+): \d+ samples, p50 (\S+) ms, p95 (\S+) ms", page)
    }
    assert legend == {
        name: (
            evidence_text(f"{name.capitalize()} p50 init duration"),
            evidence_text(f"{name.capitalize()} p95 init duration"),
        )
        for name in ("baseline", "current")
    }
    # The test has teeth: percentiles interpolated between ranks (NumPy's default) read otherwise here.
    interpolated = {
        name: tuple(quantity(float(np.percentile(v, p))) for p in (50, 95))
        for name, v in (("baseline", baseline), ("current", current))
    }
    assert interpolated != legend


# -- in the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; installed here if missing and possible (`make chromium` does it for CI)."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
            shell=True,
            capture_output=True,
            timeout=900,
        )
    if not CHROMIUM.exists():
        reason = "/usr/bin/chromium is missing and apt-get could not install it (run `make chromium` as root)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


class Dom(HTMLParser):
    """What a reader gets from the dumped DOM: elements, attributes, text and comments."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())

    def handle_comment(self, data):
        self.comments.append(data)

    @property
    def all_text(self) -> str:
        return "\n".join(self.text)

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


_profiles = itertools.count()


def open_in_chromium(chromium: str, page: Path, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{next(_profiles)}"
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *mode,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_problems(stderr: str, page: Path) -> list[str]:
    """Console messages from the page itself. Chromium says "Uncaught …" for errors and, for a blocked
    load, "… violates the following Content Security Policy directive … blocked" (older builds: "Refused")."""
    return [
        line
        for line in stderr.splitlines()
        if ("CONSOLE" in line and page.as_uri() in line) or re.search(r"Uncaught|Refused|Content Security Policy", line)
    ]


def render_in_chromium(chromium: str, report: dict, name: str, tmp_path: Path) -> tuple[Dom, str]:
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(AuditReport.from_dict(report)), encoding="utf-8")
    dumped = open_in_chromium(chromium, page, tmp_path, "--dump-dom")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    shown = open_in_chromium(chromium, page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert console_problems(dumped.stderr, page) == [] and console_problems(shown.stderr, page) == []
    return Dom(dumped.stdout), dumped.stdout


RATE_CHARTS = {"throttled": {"Throttles", "Invocations"}, "error-rate-high": {"Errors", "Invocations"}}


def expected_charts(report: dict) -> int:
    """An SVG per series with data (a rate check's two series make one chart of the rate), one per
    finding with init-duration samples, and the service map."""
    charts = (1 if report.get("service_graph") else 0) + (1 if report.get("fleet_trend") else 0)
    for finding in report["findings"] + report["resolved"]:
        with_data = {series["metric"] for series in finding["series"] if series["values"]}
        together = RATE_CHARTS.get(finding["check_id"], set())
        metrics = {series["metric"] for series in finding["series"]}
        if together and together <= metrics:
            charts += 1 + len(with_data - together)
        else:
            charts += len(with_data)
        charts += any(key in finding["evidence"] for key in ("baseline_samples", "current_samples"))
    return charts


def test_the_demo_report_in_chromium(chromium, demo_report, tmp_path):
    dom, _ = render_in_chromium(chromium, demo_report, "html-report-demo", tmp_path)
    for finding in demo_report["findings"]:
        assert finding["function_name"] in dom.text
        assert finding["check_id"] in dom.text
    assert any(finding["series"] for finding in demo_report["findings"])
    assert dom.count("svg") == expected_charts(demo_report)
    assert dom.count("script") == 0
    assert [attrs["src"] for _, attrs in dom.tags if attrs.get("src")] == []
    suppressed = sum(1 for finding in demo_report["findings"] if finding["suppressed_by"])
    assert f"{suppressed} suppressed finding" in dom.all_text  # folded in <details>


def test_the_hostile_report_in_chromium(chromium, tmp_path):
    report = hostile_report()
    dom, dumped = render_in_chromium(chromium, report, "html-report-hostile", tmp_path)
    assert dom.count("script") == 0
    assert not [c for c in dom.comments if "channel" in c]  # `<!channel>` did not become a comment
    assert SCRIPT in dom.text and CHANNEL in dom.text  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dumped
    for section in ("What is wrong", "Details", "Resolved findings", "Suppressed findings"):
        assert section in dom.text
    assert "first seen 29 Apr 2024 06:00 UTC" in dom.all_text
    assert dom.count("svg") == expected_charts(report) == 3  # error rate, duration, init durations
    assert not [attrs for tag, attrs in dom.tags if tag == "a" and "javascript" in (attrs.get("href") or "")]


def test_the_console_check_sees_what_it_looks_for(chromium, tmp_path):
    """A control page with an uncaught error and a blocked script: the check must not be blind."""
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="script-src \'sha256-x\'">'
        "<p>control</p><script>undefinedFunction()</script>"
    )
    blocked = open_in_chromium(chromium, page, tmp_path, "--dump-dom")
    page.write_text("<!DOCTYPE html><p>control</p><script>undefinedFunction()</script>")
    uncaught = open_in_chromium(chromium, page, tmp_path, "--dump-dom")
    assert console_problems(blocked.stderr, page) and console_problems(uncaught.stderr, page)


def test_service_map_draws_each_traced_function_and_colours_failing_calls():
    healthy = {"ok": 30, "errors": 0, "throttles": 0, "faults": 0, "total": 30, "average_response_ms": 12.0}
    failing = {"ok": 20, "errors": 5, "throttles": 5, "faults": 5, "total": 30, "average_response_ms": 80.0}
    report = {
        "service_graph": {
            "<script>alert(1)</script>": {**healthy, "downstream": [{"name": "orders", "type": "remote", **healthy}]},
            "stock-reserver": {
                **healthy,
                "downstream": [{"name": "stock", "type": "AWS::DynamoDB::Table", **failing}],
            },
        }
    }
    svg = service_map({name: TraceNode.from_dict(node) for name, node in report["service_graph"].items()})
    assert svg.count("<circle") == 2 and svg.count("<rect") == 2
    assert f'stroke="{MAP_COLOURS["faults"]}"' in svg and f'stroke="{MAP_COLOURS["ok"]}"' in svg
    assert svg.index("stock-reserver") < svg.index("&lt;script&gt;")  # the failing one first
    assert "<script>" not in svg
    assert "No traced function" in service_map({})


# -- layout at desktop and phone widths, through the DevTools protocol ----------------------------

# (width, height, mobile): a desktop browser window, and a 390 × 844 phone (iPhone 12 to 15).
VIEWPORTS = {"desktop": (1400, 900, False), "phone": (390, 844, True)}

LAYOUT = """(() => {
  const box = e => {
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left, right: r.right};
  };
  const wider = [];
  for (const e of document.querySelectorAll('body *')) {
    const wrapper = e.parentElement && e.parentElement.closest('.scroll');
    if (wrapper) continue;  // inside a table's scroll wrapper: it scrolls sideways, by design
    const r = e.getBoundingClientRect();
    if (!r.width && !r.height) continue;  // not rendered (inside a closed <details>)
    if (r.right > innerWidth + 0.5 || r.left < -0.5) {
      const name = `${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''}`;
      wider.push(`${name} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return {
    viewport: [innerWidth, innerHeight],
    height: document.documentElement.scrollHeight,
    scrollWidth: document.documentElement.scrollWidth,
    triage: box(document.querySelector('table.triage')),
    firstRow: box(document.querySelector('table.triage tbody tr')),
    firstRowText: (document.querySelector('table.triage tbody tr') || {}).innerText,
    firstCard: box(document.querySelector('article.finding')),
    wider,
    scrollers: [...document.querySelectorAll('.scroll')].map(e => ({
      overflow: getComputedStyle(e).overflowX, client: e.clientWidth, scroll: e.scrollWidth})),
  };
})()"""
OPEN_EVERY_DETAILS = "document.querySelectorAll('details').forEach(d => d.open = true); true"
LONG_NAME = "orders-" + "x" * 50 + "-handler"  # 64 characters, Lambda's longest function name


def fleet_report() -> dict:
    """A large account: two checks across hundreds of functions, a few real problems, a 64-character name."""

    def one(check_id, name, severity, status="new", days=0, **extra) -> Finding:
        return Finding(
            check_id,
            extra.pop("title", check_id.replace("-", " ").capitalize()),
            severity,
            "123456789012",
            "eu-west-1",
            extra.pop("message", f"{check_id} on {name}"),
            "Remedy, with `code`.",
            "https://docs.aws.amazon.com/lambda/latest/dg/lambda-monitoring.html",
            name,
            f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
            status=status,
            first_seen=(WINDOW.end - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **extra,
        )

    names = [f"svc-{i:03d}" for i in range(412)]
    findings = [one("tracing-disabled", n, Severity.LOW, "ongoing", 30) for n in names]
    findings += [one("log-retention-unset", n, Severity.LOW, "ongoing", 30) for n in names[:40]]
    findings += [
        one(
            "memory-near-limit",
            "image-thumbnailer",
            Severity.HIGH,
            "ongoing",
            4,
            message="used up to 500 MB of 512 MB (98%)",
            evidence={"max_memory_used_mb": 500.0, "memory_size_mb": 512.0, "ratio": 0.9766},
        ),
        one(
            "duration-near-timeout",
            LONG_NAME,
            Severity.MEDIUM,
            message="p99 duration 27000 ms is 90% of the 30 s timeout",
            evidence={"p99_duration_ms": 27000.0, "timeout_ms": 30000, "ratio": 0.9},
            series=(hourly("Duration", "p99", [21000.0 + 250 * i for i in range(24)]),),
        ),
        one(
            "throttled",
            "checkout-payments",
            Severity.MEDIUM,
            message="720 of 24,000 invocation attempts throttled (3.00%) by account concurrency",
            evidence={
                "throttles": 720.0,
                "invocations": 23280.0,
                "throttle_rate": 0.03,
                "limit": "account concurrency",
            },
            series=(with_baseline("Throttles", 2.0, 30.0), with_baseline("Invocations", 900.0, 970.0)),
        ),
    ]
    functions = tuple(
        FunctionSummary(n, f"arn:aws:lambda:eu-west-1:123456789012:function:{n}", "python3.12", "unhealthy")
        for n in [*names, "image-thumbnailer", LONG_NAME, "checkout-payments"]
    )
    days = [(WINDOW.end - timedelta(days=back)).date().isoformat() for back in range(29, -1, -1)]
    trend = tuple(
        FleetDay(day, None if n in FLEET_GAPS else {Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 450 + n})
        for n, day in enumerate(days)
    )
    return AuditReport(
        "123456789012",
        "eu-west-1",
        WINDOW,
        len(functions),
        functions,
        tuple(findings),
        (),
        {"ListFunctions": 9},
        {},
        fleet_trend=trend,
    ).to_dict()


FLEET_GAPS = {3, 4, 17}  # days of the 30 without a stored report


def with_baseline(metric: str, baseline: float, window: float) -> MetricSeries:
    """An hourly Sum from the baseline's start: 168 baseline hours, then the 24 of the window."""
    hours = int((WINDOW.end - WINDOW.baseline_start) / timedelta(hours=1))
    stamps = tuple(WINDOW.baseline_start + timedelta(hours=i) for i in range(hours))
    return MetricSeries(metric, "Sum", stamps, tuple(window if t >= WINDOW.start else baseline for t in stamps))


@pytest.fixture(scope="module")
def browser(chromium, tmp_path_factory):
    with Browser(chromium, tmp_path_factory.mktemp("devtools-profile")) as opened:
        yield opened


def lay_out(browser: Browser, report: dict, name: str, viewport: str, tmp_path: Path) -> dict:
    """The page's layout as loaded (scrolled to the top, <details> closed), with a full-page screenshot
    and one of the first screen kept in test-artifacts/."""
    width, height, mobile = VIEWPORTS[viewport]
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(AuditReport.from_dict(report)), encoding="utf-8")
    browser.open(page, width, height, mobile)
    layout = browser.evaluate(LAYOUT)
    ARTIFACTS.mkdir(exist_ok=True)
    for suffix, shot_height in (("fold", height), ("page", layout["height"])):
        shot = ARTIFACTS / f"html-report-{name}-{width}px-{suffix}.png"
        browser.screenshot(shot, width, shot_height)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.console_problems() == []
    return layout


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", ["demo", "fleet"])
def test_the_triage_table_is_above_the_first_detail_card_and_the_first_finding_above_the_fold(
    browser, request, name, viewport, tmp_path
):
    report = request.getfixturevalue("demo_report") if name == "demo" else fleet_report()
    layout = lay_out(browser, report, name, viewport, tmp_path)
    width, height, _ = VIEWPORTS[viewport]
    assert layout["viewport"] == [width, height]
    assert layout["triage"]["bottom"] <= layout["firstCard"]["top"]
    assert 0 < layout["firstRow"]["top"] < layout["firstRow"]["bottom"] < height, layout["firstRow"]
    worst = min(report["findings"], key=lambda f: (f["suppressed_by"] is not None, Severity(f["severity"]).rank))
    assert worst["severity"].upper() in layout["firstRowText"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", ["demo", "fleet", "hostile"])
def test_nothing_is_wider_than_the_screen_except_inside_the_tables_scroll_wrappers(
    browser, request, name, viewport, tmp_path
):
    reports = {"demo": lambda: request.getfixturevalue("demo_report"), "hostile": hostile_report, "fleet": fleet_report}
    report = reports[name]()
    width = VIEWPORTS[viewport][0]
    lay_out(browser, report, name, viewport, tmp_path)
    assert browser.evaluate(OPEN_EVERY_DETAILS)  # folded lists and tables too
    opened = browser.evaluate(LAYOUT)
    assert opened["wider"] == []
    assert opened["scrollWidth"] <= width
    assert opened["scrollers"] and {s["overflow"] for s in opened["scrollers"]} == {"auto"}


TRENDS = """(() => {
  const trend = 'section[aria-labelledby="trend"]';
  const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; };
  const chart = document.querySelector(`${trend} svg`);
  const band = document.querySelector('rect.baseline-band');
  const marker = document.querySelector('line.window-start');
  return {
    chart: chart && box(chart),
    days: [...document.querySelectorAll(`${trend} g.fleet-day`)].map(g => g.getAttribute('data-day')),
    gaps: [...document.querySelectorAll(`${trend} g.fleet-day.gap`)].length,
    band: band && box(band),
    bandChart: band && box(band.closest('svg')),
    marker: marker && box(marker),
  };
})()"""


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_fleet_chart_and_the_shaded_baseline_days_are_drawn_within_the_screen(browser, viewport, tmp_path):
    width = VIEWPORTS[viewport][0]
    lay_out(browser, fleet_report(), "fleet", viewport, tmp_path)
    drawn = browser.evaluate(TRENDS)
    assert len(drawn["days"]) == 30 and drawn["gaps"] == len(FLEET_GAPS)
    assert 0 <= drawn["chart"]["left"] < drawn["chart"]["right"] <= width and drawn["chart"]["width"] > 300
    # The baseline band fills the chart from its left axis to the window's start, 168 of 192 hours in.
    band, chart, marker = drawn["band"], drawn["bandChart"], drawn["marker"]
    assert chart["left"] < band["left"] < band["right"] < chart["right"] <= width
    assert band["right"] == pytest.approx(marker["left"], abs=1.5)
    assert band["width"] / chart["width"] == pytest.approx((290 * 168 / 192) / 340, abs=0.02)


def test_at_390_px_a_wide_table_scrolls_in_its_wrapper_instead_of_being_clipped(browser, tmp_path):
    """The functions table with a 64-character name is wider than a phone: its wrapper scrolls, the page does not."""
    lay_out(browser, fleet_report(), "fleet", "phone", tmp_path)
    browser.evaluate(OPEN_EVERY_DETAILS)
    opened = browser.evaluate(LAYOUT)
    assert any(s["scroll"] > s["client"] for s in opened["scrollers"]), opened["scrollers"]
    assert opened["scrollWidth"] == 390


def test_the_phone_layout_is_shorter_than_one_card_per_finding_would_be(browser, tmp_path):
    """412 + 40 findings of two checks take two triage rows and two cards, not 452 of each."""
    layout = lay_out(browser, fleet_report(), "fleet", "phone", tmp_path)
    cards = browser.evaluate("document.querySelectorAll('article.finding').length")
    rows = browser.evaluate("document.querySelectorAll('table.triage tbody tr').length")
    assert (rows, cards) == (5, 5)
    assert layout["height"] < 10_000


def test_the_devtools_console_check_sees_what_it_looks_for(browser, tmp_path):
    """A control page whose inline script the Content-Security-Policy blocks, and one with an uncaught
    error: the layout tests' console check must not be blind to either."""
    for name, markup in (
        ("blocked", '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'"><script>1</script>'),
        ("uncaught", "<p>control</p><script>undefinedFunction()</script>"),
    ):
        page = tmp_path / f"{name}.html"
        page.write_text(f"<!DOCTYPE html>{markup}")
        browser.open(page, *VIEWPORTS["phone"])
        assert browser.console_problems(), name
