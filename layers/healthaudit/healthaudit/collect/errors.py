"""How a failed AWS call is described in a coverage gap: the error code and operation, never payloads."""

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError


class MalformedResponse(ValueError):
    """An AWS answer lacks a field its API reference says it always carries; the message names the field."""


# botocore raises ResponseParserError (not a BotoCoreError) for an answer it cannot parse.
READ_ERRORS = (ClientError, BotoCoreError, ResponseParserError, MalformedResponse)

STOPPED_EARLY = "not read: the audit stopped early to finish before its Lambda deadline"
"""The reason of every source left unread because the Lambda deadline was near (the report is then partial)."""


def describe_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        return f"{error.operation_name} failed: {code}"
    if isinstance(error, MalformedResponse):
        return str(error)
    if isinstance(error, ResponseParserError):
        return "the answer could not be parsed"
    return f"{type(error).__name__}"
