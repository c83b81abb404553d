"""IAM and X-Ray are read while Logs Insights runs: their quotas are their own, so they wait for no query.

Logs Insights' concurrent queries are CloudWatch Logs' quota
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html); GetServiceGraph is
X-Ray's (https://docs.aws.amazon.com/general/latest/gr/xray.html) and SimulatePrincipalPolicy IAM's. The proxy
holds the first StartQuery in flight: the service graph must still be asked for meanwhile.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from botocore.config import Config

from healthaudit.audit import audit
from healthaudit.collect.clients import RETRY_CONFIG, AwsClients
from healthaudit.config import AuditConfig
from healthaudit_sandbox.proxy import AwsProxy, Hold
from healthaudit_sandbox.report_records import Invocation, write_invocations
from tests.integration.test_collect import REGION, put_hourly, traced_functions
from tests.support.clock import AT

IN_FLIGHT_WAIT_S = 60.0  # bounds a wait on an event, never a sleep
#: Longer than the proxy holds a call: the held StartQuery is never timed out and retried by the client, which
#: would let the audit go on to X-Ray after it however the stages are ordered.
PATIENT = RETRY_CONFIG.merge(Config(read_timeout=Hold.MAX_SECONDS + IN_FLIGHT_WAIT_S))


def test_service_graph_and_role_simulation_are_read_while_a_logs_insights_query_is_in_flight(sandbox):
    session = traced_functions(sandbox, "400000000091", ("busy",))
    put_hourly(session.client("cloudwatch"), "busy", "Invocations", 4)
    records = [Invocation(AT - timedelta(hours=hour, minutes=10), 120.0, 128, 60) for hour in range(1, 24)]
    write_invocations(session.client("logs"), "/aws/lambda/busy", records, "Text")

    with AwsProxy(sandbox.endpoint) as proxy:
        query, graph = proxy.hold("StartQuery"), proxy.hold("GetServiceGraph")
        clients = AwsClients(session, region=REGION, endpoint_url=proxy.endpoint, config=PATIENT)
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(audit, clients, AuditConfig(), AT)
            query_in_flight = query.reached.wait(IN_FLIGHT_WAIT_S)
            graph_while_query_in_flight = query_in_flight and graph.reached.wait(IN_FLIGHT_WAIT_S)
            query.release.set()
            graph.release.set()
            report = running.result()

    assert query_in_flight
    assert graph_while_query_in_flight
    assert report.api_calls["SimulatePrincipalPolicy"] == 1
    assert report.api_calls["GetServiceGraph"] == 4
    (busy,) = report.functions
    assert busy.status != "unknown"
    assert not report.coverage_gaps
    assert report.log_stats[next(iter(report.log_stats))][-1].invocations == len(records)
