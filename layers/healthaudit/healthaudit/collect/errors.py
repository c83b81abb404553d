"""How a failed AWS call is described in a coverage gap: the error code and operation, never payloads."""

from botocore.exceptions import BotoCoreError, ClientError

READ_ERRORS = (ClientError, BotoCoreError)


def describe_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        return f"{error.operation_name} failed: {code}"
    return f"{type(error).__name__}"
