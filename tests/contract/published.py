"""Answers AWS published, served over HTTP on loopback the way each service's protocol carries them.

A `PublishedEndpoint` is the sandbox's proxy (healthaudit_sandbox.proxy) answering the operations
it is given with fixed bodies (the examples AWS publishes): every other request goes to an upstream
endpoint (the sandbox), or is refused when there is none. The code under test keeps its own boto3
clients: botocore parses the published answer exactly as it would parse AWS's.

The wire forms follow the protocols botocore's service models name:
- awsJson1_1 (CloudWatch Logs): the JSON body, operation in `X-Amz-Target`
  (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html)
- restJson1 (Lambda, X-Ray): the JSON body, operation from the HTTP method and path
  (https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html)
- awsQuery (IAM): the XML document, operation in the form's `Action`
  (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html)
- awsJson1_0 (CloudWatch, the first of its protocols that botocore supports): the JSON body, operation
  in `X-Amz-Target` (https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from healthaudit_sandbox.proxy import Answer, AwsProxy

PAYLOADS = Path(__file__).resolve().parent / "payloads"


def payload_text(relative: str) -> str:
    """A stored payload as published (tests/contract/payloads/SOURCES.md says where each came from)."""
    return (PAYLOADS / relative).read_text()


def payload_json(relative: str) -> Any:
    return json.loads(payload_text(relative))


def without_elisions(text: str) -> str:
    """A published example with its elisions taken out, so that it parses as JSON.

    AWS's examples shorten long answers with lines such as `...` or `... TRUNCATED FOR BREVITY ...`;
    this drops those lines and the commas they leave dangling, and changes nothing else.
    """
    kept = [line for line in text.splitlines() if not re.fullmatch(r"\s*\.\.\.[^\"{}\[\]]*", line)]
    return re.sub(r",(\s*[\]}])", r"\1", "\n".join(kept))


def json_answer(text: str, content_type: str = "application/x-amz-json-1.1") -> Answer:
    """A JSON protocol answer whose body is `text`, byte for byte (even when it is not valid JSON)."""
    return Answer(text.encode(), content_type)


def rest_json_answer(text: str) -> Answer:
    return Answer(text.encode(), "application/json")


def xml_answer(text: str) -> Answer:
    return Answer(text.encode(), "text/xml")


class PublishedEndpoint(AwsProxy):
    """A loopback HTTP endpoint: the listed operations get their published answers, the rest goes upstream.

    `answers` maps an operation name (as botocore's service model spells it) to its answer, given to
    every call. Without `upstream`, any other request gets a 501 and is recorded in `unexpected`, so a
    test sees what the code asked that nobody answered. `asked` lists every operation called.
    """

    def __init__(self, answers: dict[str, Answer], upstream: str | None = None):
        super().__init__(upstream, answers=answers)
