"""Lambda GetAccountSettings, which moto 5.2.5 lacks, with a settable concurrency quota per account and Region."""

from __future__ import annotations

import json

from moto.awslambda import responses as lambda_responses
from moto.awslambda import urls as lambda_urls
from moto.awslambda.utils import get_backend as get_lambda_backend

#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (concurrent executions: 1,000)
DEFAULT_CONCURRENCY_LIMIT = 1000

#: AccountLimit values of a default account (bytes), as GetAccountSettings reports them.
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
ACCOUNT_LIMIT_DEFAULTS = {
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
    "TotalCodeSize": 80_530_636_800,
}

_CONCURRENCY_LIMIT_ATTR = "_healthaudit_concurrency_limit"


def set_account_concurrency_limit(account_id: str, region: str, limit: int) -> None:
    """Set the ConcurrentExecutions quota that GetAccountSettings reports for one account and Region.

    The value lives on moto's Lambda backend for that account and Region, so a moto reset forgets it.
    """
    if int(limit) < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    setattr(get_lambda_backend(account_id, region), _CONCURRENCY_LIMIT_ATTR, int(limit))


def install_lambda_get_account_settings() -> None:
    """GetAccountSettings (``GET /2016-08-19/account-settings``), which moto 5.2.5 lacks.

    https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html: AccountLimit
    {ConcurrentExecutions, UnreservedConcurrentExecutions = the limit minus the capacity reserved
    for individual functions with PutFunctionConcurrency, CodeSizeUnzipped, CodeSizeZipped,
    TotalCodeSize} and AccountUsage {FunctionCount, TotalCodeSize (deployment packages and layer
    archives)}. The route is added to moto's Lambda URL map and handled by LambdaResponse, so the
    account and Region come from the request exactly as for every other moto Lambda call
    (x-moto-account-id header or access key; host or SigV4 credential scope).
    """
    route = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"
    lambda_urls.url_paths.setdefault(route, lambda_responses.LambdaResponse.dispatch)

    def get_account_settings(self: lambda_responses.LambdaResponse) -> tuple[int, dict[str, str], str]:
        backend = self.backend
        limit = getattr(backend, _CONCURRENCY_LIMIT_ATTR, DEFAULT_CONCURRENCY_LIMIT)
        latest = list(backend.list_functions())
        reserved = sum(int(fn.reserved_concurrency or 0) for fn in latest)
        # Every version's package and every layer version counts. Read moto's storage directly:
        # list_functions("ALL") deep-copies each function.
        packages = [*latest, *(v for group in backend._lambdas._functions.values() for v in group["versions"])]
        layers = [lv for layer in backend._layers._layers.values() for lv in layer.layer_versions.values()]
        code_size = sum(int(item.code_size or 0) for item in packages + layers)
        body = json.dumps(
            {
                "AccountLimit": {
                    **ACCOUNT_LIMIT_DEFAULTS,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit - reserved,
                },
                "AccountUsage": {"FunctionCount": len(latest), "TotalCodeSize": code_size},
            }
        )
        return 200, {"content-type": "application/json"}, body

    lambda_responses.LambdaResponse.get_account_settings = get_account_settings  # type: ignore[attr-defined]
