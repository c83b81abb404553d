"""CloudWatch Logs Insights for the sandbox: the query subset the auditor uses, evaluated as AWS documents it.

A query goes through :mod:`.lexer` and :mod:`.parser` into the tree of :mod:`.syntax`;
:mod:`.evaluator` runs it over the records of moto's log events, with the fields :mod:`.discovery`
finds in each, the functions of :mod:`.functions` and the values of :mod:`.values`; :mod:`.api`
serves StartQuery, GetQueryResults and StopQuery from moto with it. Each module cites the AWS
documentation it follows.
"""

from healthaudit_sandbox.logs_insights.api import (
    MAX_CONCURRENT_QUERIES,
    MAX_LOG_GROUPS,
    MAX_PAGE_SIZE,
    install_logs_insights,
    set_init_duration_discovered,
    set_query_polls,
    set_query_timeout_bytes,
)
from healthaudit_sandbox.logs_insights.discovery import discover_fields
from healthaudit_sandbox.logs_insights.evaluator import QueryOutcome, evaluate
from healthaudit_sandbox.logs_insights.parser import parse_query
from healthaudit_sandbox.logs_insights.syntax import DEFAULT_LIMIT, MAX_LIMIT, MalformedQueryError, Query
from healthaudit_sandbox.logs_insights.values import Timestamp

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_CONCURRENT_QUERIES",
    "MAX_LIMIT",
    "MAX_LOG_GROUPS",
    "MAX_PAGE_SIZE",
    "MalformedQueryError",
    "Query",
    "QueryOutcome",
    "Timestamp",
    "discover_fields",
    "evaluate",
    "install_logs_insights",
    "parse_query",
    "set_init_duration_discovered",
    "set_query_polls",
    "set_query_timeout_bytes",
]
