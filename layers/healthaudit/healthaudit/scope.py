"""The audit's scope: a JMESPath expression over the fields of a function's configuration that hold no secret."""

from __future__ import annotations

from typing import Any

import jmespath
import jmespath.exceptions

from .errors import ConfigError
from .validate import string_value

SCOPE_FIELDS = frozenset(
    {
        "FunctionName",
        "FunctionArn",
        "Runtime",
        "Role",
        "Handler",
        "CodeSize",
        "Description",
        "Timeout",
        "MemorySize",
        "LastModified",
        "CodeSha256",
        "Version",
        "VpcConfig",
        "DeadLetterConfig",
        "TracingConfig",
        "MasterArn",
        "RevisionId",
        "Layers",
        "State",
        "StateReasonCode",
        "LastUpdateStatus",
        "LastUpdateStatusReasonCode",
        "FileSystemConfigs",
        "PackageType",
        "SigningProfileVersionArn",
        "SigningJobArn",
        "Architectures",
        "EphemeralStorage",
        "SnapStart",
        "RuntimeVersionConfig",
        "LoggingConfig",
        "Tags",
    }
)
"""What a scope expression may read: fields of ListFunctions' FunctionConfiguration
(https://docs.aws.amazon.com/lambda/latest/dg/API_FunctionConfiguration.html) that hold no secret, plus
the function's Tags. Never Environment (variable values), KMSKeyArn (the key guarding them),
ImageConfigResponse (an image's command line) or the free-text reasons (StateReason, LastUpdateStatusReason),
so that a scope cannot be used as an oracle on what a function keeps to itself.
"""

SECRET_FIELDS = frozenset({"Environment", "KMSKeyArn", "ImageConfigResponse"})


def parse_scope(raw: Any, path: str) -> str | None:
    if raw is None or raw == "":
        return None
    expression = string_value(raw, path)
    try:
        parsed = jmespath.compile(expression).parsed
    except jmespath.exceptions.JMESPathError as error:
        message = str(error).splitlines()[0]
        raise ConfigError(f"{path}: got {expression!r}, expected a JMESPath expression ({message})") from None
    for name in sorted(_fields_read(parsed)):
        if name in SECRET_FIELDS:
            raise ConfigError(
                f"{path}: reads {name!r}, which may hold secrets and is never kept; a scope reads only"
                " the fields listed in the README's Security section"
            )
        if name not in SCOPE_FIELDS:
            raise ConfigError(
                f"{path}: reads unknown field {name!r}, expected only these fields: {sorted(SCOPE_FIELDS)}"
            )
    return expression


# Nodes whose children are evaluated against the same node as they are (the document, at the top).
_SAME_CONTEXT = {
    "and_expression",
    "or_expression",
    "not_expression",
    "comparator",
    "function_expression",
    "multi_select_list",
    "multi_select_dict",
    "key_val_pair",
    "pipe",
}
# Nodes whose first child is evaluated against the same node, the rest against what it yields.
_LEFT_SIDE = {"subexpression", "index_expression", "projection", "value_projection", "filter_projection", "flatten"}


def _fields_read(node: dict[str, Any]) -> set[str]:
    """The top-level fields of the function configuration that a parsed JMESPath expression reads.

    A field is read from the document where a `field` node is evaluated against the document itself:
    alone, as the left side of a path, index, projection or filter, or inside a comparison, function
    call, multiselect or boolean. The rest of a path (`Tags.Environment`, `Layers[].Arn`, a filter's
    condition, an `&expression`) reads nested values. Both sides of a pipe are taken as reading the
    document: that refuses a few harmless expressions, never lets one through.
    """
    kind, children = node["type"], node.get("children", [])
    if kind == "field":
        return {node["value"]}
    if kind in _LEFT_SIDE and children:
        if children[0]["type"] == "current" and len(children) > 1 and kind == "subexpression":
            return _fields_read(children[1])  # `@.Runtime` reads Runtime
        return _fields_read(children[0])
    if kind in _SAME_CONTEXT:
        return set().union(*(_fields_read(child) for child in children))
    return set()  # literals, raw strings, @, identity, indexes, slices, &expressions
