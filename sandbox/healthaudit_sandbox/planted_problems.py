"""The demo fleet's catalogue of planted problems: every check fires on some function, and near misses stay quiet.

Every planted problem names the check that must find it; every other function must stay healthy.
"""

from __future__ import annotations

from .planted_function import LogTraffic, PlantedFunction, Traffic


def demo_fleet() -> list[PlantedFunction]:
    healthy_names = [
        "orders-api",
        "orders-worker",
        "catalog-search",
        "catalog-indexer",
        "cart-service",
        "users-auth",
        "users-profile",
        "notifications-push",
        "shipping-quotes",
        "shipping-labels",
        "invoices-render",
        "search-suggest",
        "reviews-moderation",
        "recommendations",
        "image-resizer",
        "feature-flags",
        "health-probe",
    ]
    fleet = [
        PlantedFunction(name=name, tags={"team": "platform" if i % 2 else "shop"})
        for i, name in enumerate(healthy_names)
    ]
    fleet += [
        PlantedFunction(
            "checkout-payments",
            expect=frozenset({"throttled"}),
            why="3% of attempts throttled by the account limit",
            current=Traffic(invocations=970, throttles=30, concurrency=40),
            tags={"team": "payments"},
        ),
        PlantedFunction(
            "ledger-writer",
            expect=frozenset({"throttled"}),
            why="reserved concurrency 10: a few throttles (0.05 %) and a peak of 9, one cause and one finding"
            " (throttled names the peak; concurrency-near-limit stays quiet)",
            reserved_concurrency=10,
            current=Traffic(invocations=2000, throttles=1, concurrency=9),
            tags={"team": "payments"},
        ),
        PlantedFunction(
            "inventory-sync",
            expect=frozenset({"concurrency-near-limit"}),
            why="peak concurrency 18 of 20 reserved",
            reserved_concurrency=20,
            current=Traffic(invocations=800, concurrency=18),
        ),
        PlantedFunction(
            "fraud-scoring",
            expect=frozenset({"error-rate-high"}),
            why="8% of invocations fail",
            current=Traffic(invocations=500, errors=40),
            tags={"team": "payments"},
        ),
        PlantedFunction(
            "pdf-export",
            expect=frozenset({"duration-near-timeout"}),
            why="p99 of 27 s against a 30 s timeout",
            timeout=30,
            current=Traffic(invocations=60, duration_ms=(9000.0, 14000.0, 27000.0)),
        ),
        PlantedFunction(
            "clickstream-consumer",
            expect=frozenset({"iterator-age-high"}),
            why="Kinesis records waited 15 minutes",
            stream_consumer=True,
            current=Traffic(invocations=300, iterator_age_ms=900_000.0),
        ),
        PlantedFunction(
            "email-sender",
            expect=frozenset({"async-events-dropped"}),
            why="24 async events dropped after their maximum age",
            dead_letter=True,
            current=Traffic(invocations=400, async_received=400, async_dropped=1),
        ),
        PlantedFunction(
            "webhook-dispatcher",
            expect=frozenset({"no-failure-destination"}),
            why="invoked asynchronously with no DLQ and no on-failure destination",
            current=Traffic(invocations=200, async_received=200),
        ),
        PlantedFunction(
            "pricing-api",
            expect=frozenset({"provisioned-spillover"}),
            why="48 invocations spilled over provisioned concurrency",
            current=Traffic(invocations=900, spillover=2),
        ),
        PlantedFunction(
            "legacy-reporting",
            expect=frozenset({"runtime-deprecated"}),
            why="python3.9 was deprecated in December 2025",
            runtime="python3.9",
        ),
        PlantedFunction(
            "nightly-cleanup",
            expect=frozenset({"tracing-disabled"}),
            why="X-Ray active tracing is off",
            tracing="PassThrough",
        ),
        PlantedFunction(
            "audit-trail",
            expect=frozenset({"log-retention-unset"}),
            why="its log group never expires",
            log_retention_days=None,
        ),
        PlantedFunction(
            "search-indexer",
            expect=frozenset({"cold-start-regression"}),
            why="cold starts doubled after a deploy with a bigger package",
            logs=LogTraffic(init_ms=(350.0, 450.0), init_ms_now=(900.0, 1300.0)),
            deploy_before_today=True,
        ),
        PlantedFunction(
            "geo-lookup",
            expect=frozenset({"cold-start-regression"}),
            why="cold starts slower with no configuration change",
            logs=LogTraffic(init_ms=(250.0, 330.0), init_ms_now=(600.0, 800.0)),
        ),
        PlantedFunction(
            "orders-events-json",
            expect=frozenset({"cold-start-regression"}),
            why="JSON-format logs in a custom log group: cold starts slower",
            log_format="JSON",
            log_group="/custom/orders-events",
            logs=LogTraffic(init_ms=(400.0, 500.0), init_ms_now=(1000.0, 1200.0)),
        ),
        PlantedFunction(
            "image-thumbnailer",
            expect=frozenset({"memory-near-limit"}),
            why="used 500 of 512 MB",
            memory=512,
            logs=LogTraffic(per_hour=5, memory_used_mb=500.0),
        ),
        PlantedFunction(
            "report-builder",
            expect=frozenset({"memory-overprovisioned"}),
            why="3008 MB configured, 180 MB used",
            memory=3008,
            logs=LogTraffic(per_hour=5, memory_used_mb=180.0),
        ),
        PlantedFunction(
            "inventory-writer",
            expect=frozenset({"tracing-not-permitted"}),
            why="tracing is on, but its role lacks AWSXRayDaemonWriteAccess",
            xray_permitted=False,
            traces="none",
        ),
        PlantedFunction(
            "payments-webhook",
            expect=frozenset({"traces-missing"}),
            why="traced and permitted, 2,400 invocations, and no traces arrive",
            traces="none",
        ),
        PlantedFunction(
            "stock-reserver",
            expect=frozenset({"trace-errors-high"}),
            why="its DynamoDB table throttles and faults on a third of the calls",
            traces="failing-table",
        ),
        # Near misses and opt-outs that must stay quiet.
        PlantedFunction(
            "orders-msk-consumer",
            why="tracing off, but its Amazon MSK source cannot be traced: exempt",
            tracing="PassThrough",
            msk_topic="orders",
        ),
        PlantedFunction(
            "pdf-merger",
            why="a few slower cold starts today: too few to be significant",
            logs=LogTraffic(init_ms=(350.0, 450.0), init_ms_now=(700.0, 900.0), cold_every_now=20),
        ),
        PlantedFunction(
            "quotes-provisioned",
            why="on provisioned concurrency since today: its text REPORT lines write Init Duration for"
            " provisioned initialisations, which are no cold starts",
            current=Traffic(invocations=100, provisioned=100),
            logs=LogTraffic(init_ms_now=(900.0, 1100.0), init_type_now="provisioned-concurrency"),
        ),
        PlantedFunction(
            "quotes-provisioned-json",
            why="on provisioned concurrency since today, JSON logs: its initialisations are provisioned-concurrency",
            log_format="JSON",
            current=Traffic(invocations=100, provisioned=100),
            logs=LogTraffic(init_ms_now=(900.0, 1100.0), init_type_now="provisioned-concurrency"),
        ),
        PlantedFunction(
            "batch-importer",
            why="8% errors, but its tag raises the error-rate threshold to 10%",
            tags={"healthaudit:max_error_rate": "0.1"},
            current=Traffic(invocations=500, errors=40),
        ),
        PlantedFunction(
            "quiet-cron",
            why="2 errors in 10 invocations: too few invocations to judge",
            current=Traffic(invocations=5, errors=1, active_hours=2),
        ),
        PlantedFunction(
            "legacy-etl",
            why="python3.8, deprecation acknowledged by tag",
            runtime="python3.8",
            tags={"healthaudit:suppress": "runtime-deprecated"},
            expect_suppressed=frozenset({"runtime-deprecated"}),
        ),
        PlantedFunction(
            "queue-consumer-dlq",
            why="async with a dead-letter queue",
            dead_letter=True,
            current=Traffic(invocations=300, async_received=300),
        ),
        PlantedFunction(
            "events-fanout",
            why="async with an on-failure destination",
            on_failure_destination=True,
            current=Traffic(invocations=300, async_received=300),
        ),
    ]
    return fleet


def expected_findings(fleet: list[PlantedFunction]) -> dict[str, frozenset[str]]:
    return {fn.name: fn.expect for fn in fleet}
