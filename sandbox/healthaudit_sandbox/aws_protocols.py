"""How each AWS protocol carries an operation and an error on the wire, for the loopback proxy.

The operation a botocore request calls, as each protocol that botocore's service models name carries it:

- awsJson1_0 / awsJson1_1 (CloudWatch Logs, the Tagging API): ``X-Amz-Target: Service.Operation``
  (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html);
- Smithy RPC v2 CBOR (CloudWatch in recent SDKs): the path ``/service/<Service>/operation/<Operation>``
  (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html);
- awsQuery (IAM, STS): ``Action=`` in the form body or the query string
  (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html);
- restJson1 / restXml (Lambda, X-Ray, S3): the method and path, matched against each operation's
  ``requestUri`` in botocore's model of the service named by the signature's credential scope
  (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html). Where several operations share
  a method and path (S3's PutObject, CopyObject and UploadPart), the one whose required query keys
  and headers the request carries, most of them first, is the one called.

Errors, shaped as each protocol documents them so that botocore parses them as it would AWS's:
``__type`` in a JSON body (awsJson), the ``X-Amzn-ErrorType`` header (restJson1), an ``<Error>``
document (restXml, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), an
``<ErrorResponse>`` document (awsQuery), ``__type`` in a CBOR body (RPC v2 CBOR).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import botocore.session
from botocore.exceptions import UnknownServiceError

__all__ = ["ErrorAnswer", "error_answer", "operation_of", "signing_service"]

REQUEST_ID = "healthaudit-sandbox-proxy"

_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([^/?]+)")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


def operation_of(method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
    """The operation a request calls (see the module docstring); ``service:METHOD /path`` when none matches.

    ``headers`` are keyed in lower case.
    """
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    rpc_v2 = _RPC_V2_PATH.match(path)
    if rpc_v2:
        return rpc_v2.group(1)
    url = urlsplit(path)
    form = body.decode("latin-1") if _is_form(headers) else ""
    for source in (url.query, form):
        action = parse_qs(source).get("Action")
        if action:
            return action[0]
    service = signing_service(headers)
    query = parse_qs(url.query, keep_blank_values=True)
    candidates = [route for route in _rest_routes(service) if route.serves(method, url.path, query, headers)]
    if candidates:
        return max(candidates, key=lambda route: route.specificity).operation
    return f"{service}:{method} {url.path}"


def signing_service(headers: Mapping[str, str]) -> str:
    """The service a SigV4-signed request is for, from its credential scope (…/region/service/aws4_request)."""
    match = _CREDENTIAL_SCOPE.search(headers.get("authorization", ""))
    return match.group(1) if match else "unknown"


def _is_form(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


@dataclass(frozen=True)
class _RestRoute:
    operation: str
    method: str
    path: re.Pattern[str]
    query_keys: frozenset[str]
    header_names: frozenset[str]
    literal_length: int

    def serves(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> bool:
        return (
            method == self.method
            and self.path.fullmatch(path) is not None
            and self.query_keys <= query.keys()
            and all(name in headers for name in self.header_names)
        )

    @property
    def specificity(self) -> tuple[int, int]:
        return len(self.query_keys) + len(self.header_names), self.literal_length


@functools.cache
def _rest_routes(service: str) -> tuple[_RestRoute, ...]:
    """Each operation's method, path pattern and required query keys and headers, from botocore's model."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:  # a signing name that names no service matches nothing
        return ()
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        template, _, literal_query = operation.http["requestUri"].partition("?")
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(template))
        pattern = re.sub(r"\\\{[^}]+?\\\}", "[^/]+", pattern)
        query_keys = {part.split("=", 1)[0] for part in literal_query.split("&") if part}
        header_names: set[str] = set()
        shape = operation.input_shape
        for member in shape.required_members if shape is not None else ():
            serialization = shape.members[member].serialization
            location, wire_name = serialization.get("location"), serialization.get("name", member)
            if location == "querystring":
                query_keys.add(wire_name)
            elif location == "header":
                header_names.add(wire_name.lower())
        literal_length = len(re.sub(r"\{[^}]+\}", "", template))
        routes.append(
            _RestRoute(
                name,
                operation.http["method"],
                re.compile(pattern),
                frozenset(query_keys),
                frozenset(header_names),
                literal_length,
            )
        )
    return tuple(routes)


@dataclass(frozen=True)
class ErrorAnswer:
    body: bytes
    headers: dict[str, str]


def error_answer(code: str, message: str, headers: Mapping[str, str]) -> ErrorAnswer:
    """The error `code` as the protocol of the request with these (lower-case) headers carries it."""
    smithy_protocol = headers.get("smithy-protocol")
    if smithy_protocol == "rpc-v2-cbor":
        body, content_type = _cbor_text_map({"__type": code, "message": message}), "application/cbor"
    elif signing_service(headers) == "s3":
        document = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{REQUEST_ID}</RequestId></Error>"
        body, content_type = document.encode(), "application/xml"
    elif _is_form(headers):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        content_type = "application/x-amz-json-1.1"
    answer_headers = {"Content-Type": content_type, "X-Amzn-ErrorType": code}
    if smithy_protocol:
        answer_headers["smithy-protocol"] = smithy_protocol
    return ErrorAnswer(body, answer_headers)


def _cbor_text_map(items: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (RFC 8949 major types 5 and 3)."""

    def text(value: str) -> bytes:
        data = value.encode()
        if len(data) < 24:
            return bytes([0x60 | len(data)]) + data
        if len(data) < 256:
            return bytes([0x78, len(data)]) + data
        return bytes([0x79]) + len(data).to_bytes(2, "big") + data

    out = bytes([0xA0 | len(items)])
    for key, value in items.items():
        out += text(key) + text(value)
    return out
