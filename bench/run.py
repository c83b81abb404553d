"""The 10,000-function benchmark: the auditor against Cloud Custodian, both against the sandbox.

    make bench                                  # N = 1,000 and 10,000, sparse and dense, with the peer
    .venv/bin/python bench/run.py --sizes 1000 --fleets sparse --skip-peer

For each N and fleet (sparse: ~3% of the functions invoked; dense: every function invoked): seed N
functions into an account of their own in the sandbox (a separate process; seeding time is reported
apart), run `healthaudit run` as a child process through a counting proxy, then Cloud Custodian (from
.venv-c7n) through the same proxy. Prints the calls by operation against the physical minimum, the
projected time at AWS's quotas (bench/quotas.py states them and its assumptions), the auditor's CPU and
peak RSS, wall times, the ratio of calls to Custodian's, and what each run costs in dollars: both tools'
call logs priced by healthaudit.cost at AWS's list prices (the auditor's Lambda time at its projected
duration), free tiers apart. Last, the organization projection (bench/organization.py).
Not run by the test suite. Everything is bounded: a child past its budget is stopped.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import pstats
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import auditor as auditor_mod
import organization
import quotas
from fleet import Fleet, plan_fleet, seed
from peer import C7N_VERSION, POLICY_NAMES, PeerRun, run_custodian
from sandbox_proc import REGION, SandboxProcess

from healthaudit.collect.metrics import FUNCTION_METRICS, LISTING_DELAY
from healthaudit.cost import AUDIT_FUNCTION_MEMORY_MB, price_calls
from healthaudit.model.report import AuditCost
from healthaudit_sandbox.proxy import AwsProxy

ROOT = Path(__file__).resolve().parent.parent
TARGET_PROJECTED_S = 60.0
TARGET_PROJECTED_DENSE_S = 120.0
TARGET_CPU_S = 30.0
TARGET_RSS_MB = 512.0
TARGET_RATIO = 100.0
TARGET_SPARSE_USD = 0.05  # a daily audit of 10,000 sparse functions
TARGET_USD_SHARE_OF_PEER = 1 / 5  # of Custodian's dollars, on the same ground
#: The auditor's operations that serve the ground Custodian's policies also cover: the inventory both read
#: (functions with their configuration and TracingConfig, tags, the account id), the CloudWatch metrics
#: (the fleet's and the findings' hourly series) and the concurrency lookups (the account's reservations,
#: then the functions' until they are all found). Left out, as ground only the auditor covers: event
#: source mappings, event invoke config, log groups, Logs Insights, IAM and X-Ray.
SAME_GROUND = (
    "ListFunctions",
    "GetResources",
    "GetCallerIdentity",
    "GetMetricData",
    "GetAccountSettings",
    "GetFunctionConcurrency",
    "ListMetrics",
)


@dataclass
class SizeResult:
    size: int
    fleet: Fleet
    seed_s: float
    seed_calls: dict[str, int]
    audit: auditor_mod.AuditorRun
    audit_http: dict[str, int]
    sandbox_cpu_audit_s: float
    minimum: dict[str, quotas.Minimum]
    stages: list[quotas.Stage]
    peer: PeerRun | None = None
    peer_http: dict[str, int] = field(default_factory=dict)
    sandbox_cpu_peer_s: float = 0.0
    peer_calls: dict[str, int] = field(default_factory=dict)
    """Custodian's calls as priced: measured, or extrapolated where its run stopped at the budget."""

    @property
    def kind(self) -> str:
        return "dense" if self.fleet.dense else "sparse"

    @property
    def label(self) -> str:
        return f"N = {self.size:,} {self.kind}"

    def auditor_cost(self, operations: tuple[str, ...] | None = None) -> AuditCost:
        """The auditor's calls at list price (only `operations`, if given), its metrics of every pass, its
        Insights scans and one invocation of the audit function for the projected duration."""
        calls = self.audit.api_calls
        if operations is not None:
            calls = {op: n for op, n in calls.items() if op in operations}
        return price_calls(
            calls,
            metrics_requested=sum(self.audit.metric_queries.values()),
            bytes_scanned=int(self.audit.report.get("logs_insights_bytes_scanned", 0)) if operations is None else 0,
            lambda_seconds=quotas.projected_seconds(self.stages) if operations is None else 0.0,
            lambda_memory_mb=AUDIT_FUNCTION_MEMORY_MB,
            lambda_invocations=1 if operations is None else 0,
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    custodian = Path(args.custodian)
    if not args.skip_peer and not custodian.exists():
        print(f"bench: {custodian} not found: `make bench` creates it, or pass --skip-peer", file=sys.stderr)
        return 2
    quotas.QUERY_SECONDS = args.query_seconds
    out = Path(args.out) / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    _print_machine(custodian if not args.skip_peer else None)
    print(f"work files: {out}\n")
    results: list[SizeResult] = []
    with SandboxProcess(out / "sandbox.log") as sandbox:
        print(f"sandbox: pid {sandbox.pid} on {sandbox.endpoint} (moto + fidelity extensions, its own process)\n")
        for dense in [kind == "dense" for kind in args.fleets.split(",") if kind.strip()]:
            for size in sizes:
                kind = "dense" if dense else "sparse"
                result = _bench_size(sandbox, size, out / f"n{size}-{kind}", args, custodian, dense)
                results.append(result)
                _print_size(result)
    _print_summary(results, args.skip_peer)
    _print_dollars(results)
    print()
    organization.print_projection(1000, 4, [50, 500], [60, 200, organization.TEMPLATE_MAX_CONCURRENCY])
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="fleet sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--fleets", default="sparse,dense", help="sparse, dense or both (default both)")
    parser.add_argument("--skip-peer", action="store_true", help="do not run Cloud Custodian")
    parser.add_argument("--custodian", default=str(ROOT / ".venv-c7n" / "bin" / "custodian"))
    parser.add_argument("--peer-budget", type=float, default=1800.0, help="seconds Custodian may run per size")
    parser.add_argument("--query-seconds", type=float, default=quotas.QUERY_SECONDS, help="assumed Insights query")
    parser.add_argument("--profile", action="store_true", help="run the auditor under cProfile (slower) and print")
    parser.add_argument("--out", default=str(ROOT / "out" / "bench"))
    return parser


def _bench_size(
    sandbox: SandboxProcess, size: int, workdir: Path, args, custodian: Path, dense: bool = False
) -> SizeResult:
    workdir.mkdir(parents=True, exist_ok=True)
    account = f"{(710000000000 if dense else 700000000000) + size:012d}"
    credentials = sandbox.credentials_for(account)
    at = datetime.now(timezone.utc) - LISTING_DELAY  # as a schedule 15 minutes past the hour: ListMetrics covers
    fleet = plan_fleet(size, account, REGION, at.replace(minute=0, second=0, microsecond=0), dense=dense)
    print(f"== N = {size:,}, {'dense' if dense else 'sparse'} (account {account}) ==", flush=True)
    started = time.monotonic()
    seed_calls = seed(fleet, credentials.session(), sandbox.endpoint)
    seed_s = time.monotonic() - started
    print(f"seeded in {seed_s:.1f} s ({sum(seed_calls.values()):,} calls, 8 threads; not part of the figures)")
    with AwsProxy(sandbox.endpoint) as proxy:
        cpu_before = sandbox.cpu_seconds()
        audit = auditor_mod.run_auditor(proxy.endpoint, credentials, at, workdir, profile=args.profile)
        sandbox_cpu_audit = sandbox.cpu_seconds() - cpu_before
        audit_http = dict(proxy.calls)
        series = audit.metric_queries.get("series", 0)
        ranges = _ranges_scanned(audit.report)
        result = SizeResult(
            size=size,
            fleet=fleet,
            seed_s=seed_s,
            seed_calls=seed_calls,
            audit=audit,
            audit_http=audit_http,
            sandbox_cpu_audit_s=sandbox_cpu_audit,
            minimum=quotas.minimums(fleet, series, ranges),
            stages=quotas.projection(audit.api_calls, audit.metric_queries.get("fleet", 0), series, fleet, ranges),
        )
        if not args.skip_peer:
            proxy.reset()
            cpu_before = sandbox.cpu_seconds()
            print(f"running Cloud Custodian (budget {args.peer_budget:.0f} s)…", flush=True)
            result.peer = run_custodian(custodian, proxy.endpoint, credentials, workdir / "c7n", args.peer_budget)
            result.sandbox_cpu_peer_s = sandbox.cpu_seconds() - cpu_before
            result.peer_http = dict(proxy.calls)
    return result


def _ranges_scanned(report: dict) -> int:
    return max((len(ranges) for ranges in report.get("log_stats", {}).values()), default=0)


# -- printing ---------------------------------------------------------------------------------------


def _print_machine(custodian: Path | None) -> None:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory_kb = 0
    from importlib.metadata import version

    print("machine:")
    print(f"  nproc {os.cpu_count()}, CPU {model}, memory {memory_kb / 1024 / 1024:.1f} GiB")
    print(f"  {platform.python_implementation()} {platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"  moto {version('moto')}, boto3 {version('boto3')}, botocore {version('botocore')}")
    if custodian is not None:
        found = subprocess.run([str(custodian), "version"], capture_output=True, text=True, timeout=60).stdout.strip()
        note = "" if found == C7N_VERSION else f" (expected {C7N_VERSION})"
        print(f"  Cloud Custodian (c7n) {found}{note}, its own virtual environment")


def _table(rows: list[tuple], header: tuple) -> None:
    """Columns of figures right-aligned, the others left-aligned."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    right = [all(_figure(row[i]) for row in rows) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            str(cell).rjust(width) if align_right else str(cell).ljust(width)
            for cell, width, align_right in zip(row, widths, right, strict=True)
        ]
        print("  " + "  ".join(cells).rstrip())


def _figure(cell: object) -> bool:
    text = str(cell).replace(",", "").replace(".", "").rstrip("sx ").strip()
    return isinstance(cell, int | float) or text.isdigit() or text in ("?", "—")


def _print_size(result: SizeResult) -> None:
    audit, fleet = result.audit, result.fleet
    child = audit.child
    print(
        f"fleet: {fleet.size:,} functions, {len(fleet.active)} with traffic, {fleet.tagged:,} tagged,"
        f" {fleet.size:,} log groups, reserved concurrency {fleet.reserved_total} in total"
    )
    planted, found = fleet.planted(), audit.findings_by_check()
    missed = {check: (n, found.get(check, 0)) for check, n in planted.items() if found.get(check, 0) != n}
    extra = {check: n for check, n in found.items() if check not in planted}
    print(f"findings: {found}")
    print(f"  planted problems found exactly: {'yes' if not missed and not extra else f'no: {missed} {extra}'}")

    print("\nauditor API calls (report's api_calls; HTTP requests at the proxy) against the physical minimum:")
    rows = []
    for op in sorted(set(audit.api_calls) | set(result.minimum) | set(result.audit_http)):
        minimum = result.minimum.get(op)
        made = audit.api_calls.get(op, 0)
        verdict = _verdict(made, minimum)
        rows.append(
            (
                op,
                made,
                result.audit_http.get(op, 0),
                "?" if minimum is None else minimum.calls,
                verdict,
                minimum.why if minimum else "no minimum defined",
            )
        )
    _table(rows, ("operation", "calls", "http", "minimum", "", "minimum is"))
    print(f"  total: {sum(audit.api_calls.values()):,} calls, {sum(result.audit_http.values()):,} HTTP requests")

    print("\nprojected time of this audit at AWS's quotas (assumptions in bench/quotas.py):")
    _table(
        [
            (s.name, f"{s.seconds:.1f} s", f"{s.start:.1f}-{s.end:.1f} s", s.how)
            for s in sorted(result.stages, key=lambda s: (s.start, s.background))
        ],
        ("stage", "time", "when", "how"),
    )
    print(
        f"  total: {quotas.projected_seconds(result.stages):.1f} s, the critical path: the DescribeLogGroups pages"
        f" and X-Ray with IAM on threads of their own, the other stages one after another"
        f" ({quotas.sequential_seconds(result.stages):.1f} s if all ran one after another)"
    )
    ranges = _ranges_scanned(result.audit.report)
    if ranges > 1:
        daily = quotas.projection(
            result.audit.api_calls,
            result.audit.metric_queries.get("fleet", 0),
            result.audit.metric_queries.get("series", 0),
            result.fleet,
            1,
        )
        print(
            f"  this first audit read the logs in {ranges} ranges (the baseline's, the window's); a daily audit"
            f" reads one, since the previous audit: {quotas.projected_seconds(daily):.1f} s"
        )

    print(
        f"\nauditor process: {child.cpu_s:.1f} CPU s, peak RSS {child.peak_rss_mb:.0f} MB,"
        f" wall {child.wall_s:.1f} s against the sandbox"
        f" (the sandbox, a separate process, used {result.sandbox_cpu_audit_s:.1f} CPU s meanwhile)"
    )
    if audit.profile:
        print("  (under cProfile: CPU and wall are inflated)\n  auditor's own code, by cumulative time:")
        _print_profile(audit.profile)

    if result.peer is not None:
        _print_peer(result)
    print(flush=True)


def _verdict(made: int, minimum: quotas.Minimum | None) -> str:
    if minimum is None:
        return "—"
    if made == minimum.calls:
        return "= min"
    if made == minimum.sandbox_calls:
        return f"= min in the sandbox ({minimum.sandbox_why})"
    return f"{made - minimum.calls:+d}"


def _print_profile(path: Path, top: int = 10) -> None:
    """The auditor's own functions by cumulative time (entry points left out), then the hottest by own time."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    entry_points = ("cli.py", "pipeline.py")
    own = [
        (f"{Path(file).name}:{line}({name})", cumulative)
        for (file, line, name), (_, _, _, cumulative, _) in stats.items()
        if "/healthaudit/" in file and "/sandbox/" not in file and Path(file).name not in entry_points
    ]
    for label, seconds in sorted(own, key=lambda row: -row[1])[:top]:
        print(f"    {seconds:7.1f} s  {label}")
    print("  hottest by own time (any code):")
    hottest = sorted(stats.items(), key=lambda item: -item[1][2])[:5]
    for (file, line, name), (_, calls, own_time, _, _) in hottest:
        print(f"    {own_time:7.1f} s  {Path(file).name}:{line}({name}), {calls:,} calls")


def _print_peer(result: SizeResult) -> None:
    peer = result.peer
    assert peer is not None
    child = peer.child
    state = "stopped at its budget: PARTIAL counts" if child.timed_out else f"exit {child.returncode}"
    print(
        f"\nCloud Custodian: {child.cpu_s:.1f} CPU s, peak RSS {child.peak_rss_mb:.0f} MB, wall {child.wall_s:.1f} s"
        f" ({state}; the sandbox used {result.sandbox_cpu_peer_s:.1f} CPU s meanwhile)"
    )
    print(f"  policies: {', '.join(POLICY_NAMES)}")
    print(f"  matched: {peer.matched}")
    _print_ratio(result.audit.api_calls, result.peer_http, "measured")


def same_ground(auditor_calls: dict[str, int]) -> int:
    return sum(auditor_calls.get(op, 0) for op in SAME_GROUND)


def _print_ratio(auditor_calls: dict[str, int], peer_calls: dict[str, int], label: str) -> None:
    families: dict[str, list[int]] = {}
    for source, calls in ((0, auditor_calls), (1, peer_calls)):
        for op, n in calls.items():
            families.setdefault(quotas.family_of(op), [0, 0])[source] += n
    rows = [
        (family, a, p, f"{p / a:.1f}x" if a and p else "—")
        for family, (a, p) in sorted(families.items(), key=lambda item: -item[1][1])
    ]
    total_a, total_p = sum(auditor_calls.values()), sum(peer_calls.values())
    rows.append(("total", total_a, total_p, f"{total_p / total_a:.1f}x" if total_a else "—"))
    ground = same_ground(auditor_calls)
    rows.append(("same ground (see below)", ground, total_p, f"{total_p / ground:.1f}x" if ground else "—"))
    print(f"  calls, auditor against Custodian ({label}):")
    _table(rows, ("family", "auditor", "custodian", "custodian/auditor"))
    print(
        f"  same ground: every Custodian call against the auditor's {', '.join(SAME_GROUND)} calls"
        " (the ground both cover); the total row counts every call of both"
    )
    print("  Custodian: " + ", ".join(f"{op} {n:,}" for op, n in sorted(peer_calls.items())))


def _print_summary(results: list[SizeResult], skip_peer: bool) -> None:
    print("== summary ==")
    print("quotas: " + "  ".join(quotas.SOURCES))
    print("assumed: " + quotas.ASSUMED.format(query_seconds=quotas.QUERY_SECONDS))
    for result in results:
        audit = result.audit
        over = {
            op: (audit.api_calls.get(op, 0), m.calls)
            for op, m in result.minimum.items()
            if audit.api_calls.get(op, 0) not in (m.calls, m.sandbox_calls)
        }
        unknown = sorted(set(audit.api_calls) - set(result.minimum))
        projected = quotas.projected_seconds(result.stages)
        print(f"{result.label}:")
        print(
            f"  calls at the physical minimum for every operation: {'met' if not over else f'MISSED {over}'}"
            + (f" (no minimum defined for {unknown})" if unknown else "")
        )
        print(
            f"  projected {projected:.0f} s at quotas; auditor {audit.child.cpu_s:.1f} CPU s,"
            f" peak RSS {audit.child.peak_rss_mb:.0f} MB, wall {audit.child.wall_s:.1f} s in the sandbox"
        )
        if result.size == 10_000:
            limit = TARGET_PROJECTED_DENSE_S if result.fleet.dense else TARGET_PROJECTED_S
            print(f"  target projected ≤ {limit:.0f} s: {_met(projected <= limit)}")
            print(
                f"  target CPU ≤ {TARGET_CPU_S:.0f} s: {_met(audit.child.cpu_s <= TARGET_CPU_S)}"
                + (" (under cProfile)" if audit.profile else "")
            )
            print(f"  target peak RSS ≤ {TARGET_RSS_MB:.0f} MB: {_met(audit.child.peak_rss_mb <= TARGET_RSS_MB)}")
    if skip_peer:
        return
    _print_peer_summary(results)


def _print_peer_summary(results: list[SizeResult]) -> None:
    for result in results:
        complete = [
            r
            for r in results
            if r.peer and not r.peer.child.timed_out and r.peer.child.returncode == 0 and r.kind == result.kind
        ]
        base = min(complete, key=lambda r: r.size) if complete else None
        peer = result.peer
        assert peer is not None
        auditor_total = sum(result.audit.api_calls.values())
        if peer.child.timed_out or peer.child.returncode != 0:
            if base is None:
                print(f"{result.label}: Custodian did not finish, and no smaller run to extrapolate from")
                continue
            scale = result.size / base.size
            # Per-function and paged operations grow with N; a call made once a run stays once.
            calls = {op: n if n == 1 else math.ceil(n * scale) for op, n in base.peer_http.items()}
            how = (
                f"EXTRAPOLATED linearly from N = {base.size:,} (its run stopped at the budget after"
                f" {sum(result.peer_http.values()):,} calls)"
            )
            wall, cpu = base.peer.child.wall_s * scale, base.peer.child.cpu_s * scale  # type: ignore[union-attr]
        else:
            calls, how = result.peer_http, "measured"
            wall, cpu = peer.child.wall_s, peer.child.cpu_s
        result.peer_calls = calls
        total = sum(calls.values())
        ratio = total / auditor_total if auditor_total else math.inf
        ground = same_ground(result.audit.api_calls)
        ground_ratio = total / ground if ground else math.inf
        print(
            f"{result.label}: Custodian {total:,} calls ({how}), wall {wall:.0f} s, {cpu:.0f} CPU s;"
            f" policies: {', '.join(POLICY_NAMES)}"
        )
        print(
            f"  all calls: auditor {auditor_total:,}, {ratio:.1f}x fewer;"
            f" target ≥ {TARGET_RATIO:.0f}x: {_met(ratio >= TARGET_RATIO)}"
        )
        print(
            f"  same ground (the auditor's {', '.join(SAME_GROUND)}; every Custodian call):"
            f" auditor {ground:,}, {ground_ratio:.1f}x fewer; target ≥ {TARGET_RATIO:.0f}x:"
            f" {_met(ground_ratio >= TARGET_RATIO)}"
        )
        metrics_a, metrics_p = result.audit.api_calls.get("GetMetricData", 0), calls.get("GetMetricStatistics", 0)
        if metrics_a:
            print(f"  CloudWatch metrics alone: {metrics_p:,} against {metrics_a:,}, {metrics_p / metrics_a:.1f}x")
        if how != "measured":
            _print_ratio(result.audit.api_calls, calls, how)
        # Custodian's metric calls replaced by one per function for each of the auditor's metrics.
        covering = total - metrics_p + result.size * len(FUNCTION_METRICS)
        print(
            f"  Custodian reading the auditor's {len(FUNCTION_METRICS)} function metrics the same way"
            f" (computed, not run): {covering:,.0f} calls, {covering / auditor_total:.1f}x the auditor's"
        )


METRIC_ITEMS = ("CloudWatch GetMetricData", "CloudWatch API requests (GetMetricStatistics, ListMetrics)")


def _metrics_usd(cost: AuditCost) -> float:
    return sum(part.usd for part in cost.parts if part.item in METRIC_ITEMS)


def _custodian_reading_the_same_metrics(result: SizeResult) -> dict[str, int]:
    """Custodian's calls with its GetMetricStatistics replaced by one a function for each of the auditor's
    function metrics (computed, not run)."""
    calls = dict(result.peer_calls)
    calls["GetMetricStatistics"] = result.size * len(FUNCTION_METRICS)
    return calls


def _print_dollars(results: list[SizeResult]) -> None:
    """Every run priced from its call log (healthaudit.cost), free tiers apart."""
    print("\n== dollars per audit (list prices; healthaudit/cost.py names each page and the date read) ==")
    rows = []
    for result in results:
        audit = result.auditor_cost()
        ground = result.auditor_cost(SAME_GROUND)
        row = [
            result.label,
            f"{sum(result.audit.api_calls.values()):,}",
            f"${audit.usd:.4f}",
            f"${_metrics_usd(audit):.4f}",
            f"${ground.usd:.4f}",
        ]
        if result.peer_calls:
            peer = price_calls(result.peer_calls)
            same_metrics = price_calls(_custodian_reading_the_same_metrics(result))
            row += [
                f"{sum(result.peer_calls.values()):,}",
                f"${peer.usd:.4f} (${peer.free_tier_eligible_usd:.4f})",
                f"${same_metrics.usd:.4f}",
                f"{ground.usd / peer.usd:.2f}" if peer.usd else "—",
            ]
        else:
            row += ["—", "—", "—", "—"]
        rows.append(tuple(row))
    _table(
        rows,
        (
            "run",
            "auditor calls",
            "auditor $",
            "metrics $",
            "same ground $",
            "Custodian calls",
            "Custodian $ (free-tier eligible)",
            "Custodian, same metrics $",
            "same ground / Custodian",
        ),
    )
    print(
        "  auditor $: its calls, GetMetricData per metric requested, ListMetrics per request, Logs Insights per"
        " GB scanned, and one audit invocation for its projected duration at 1,024 MB on arm64. Custodian $:"
        " its calls only (GetMetricStatistics per request; GetFunction, ListFunctions and GetResources carry"
        " no price), not the machine it runs on. Free tiers are never subtracted: the column in parentheses"
        " is the part that CloudWatch's 1 M API requests a month could cover; GetMetricData has no free tier."
    )
    for result in results:
        parts = ", ".join(f"{p.item} {p.quantity:,.4g} {p.unit} ${p.usd:.5f}" for p in result.auditor_cost().parts)
        print(f"  {result.label}, auditor's parts: {parts}")
    for result in results:
        if result.size != 10_000:
            continue
        audit, ground = result.auditor_cost(), result.auditor_cost(SAME_GROUND)
        if not result.fleet.dense:
            print(
                f"{result.label}: target ≤ ${TARGET_SPARSE_USD:.2f} a daily audit: ${audit.usd:.4f},"
                f" {_met(audit.usd <= TARGET_SPARSE_USD)}"
            )
            if result.peer_calls:
                peer = price_calls(result.peer_calls).usd
                print(
                    f"  target ≤ 1/5 of Custodian's dollars on the same ground: ${ground.usd:.4f} against"
                    f" ${peer:.4f}, {_met(ground.usd <= peer * TARGET_USD_SHARE_OF_PEER)}"
                )
        elif result.peer_calls:
            same = _metrics_usd(price_calls(_custodian_reading_the_same_metrics(result)))
            print(
                f"{result.label}: target metrics dollars ≤ Custodian reading the same metrics:"
                f" ${_metrics_usd(audit):.4f} against ${same:.4f}, {_met(_metrics_usd(audit) <= same)}"
            )


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
