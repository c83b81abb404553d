"""The sandbox's proxy names each request's operation as botocore's service models do, whatever the protocol
(healthaudit_sandbox.aws_protocols): the bench counts by these names, and faults and answers match them.

Each request is the one botocore itself builds and signs, taken just before it would be sent.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from healthaudit_sandbox.aws_protocols import operation_of, signing_service

NOWHERE = "http://127.0.0.1:9"


class Sent(Exception):
    """Raised from botocore's before-send event: the request was built and signed, and goes no further."""

    def __init__(self, request: Any):
        self.request = request


def wire_request(service: str, method: str, **params: Any) -> tuple[str, str, dict[str, str], bytes]:
    """(method, path with query, lower-case headers, body) of the request botocore sends for this call."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
    client = session.client(service, endpoint_url=NOWHERE)

    def stop(request: Any, **kwargs: Any) -> None:
        raise Sent(request)

    client.meta.events.register("before-send", stop)
    with pytest.raises(Sent) as sent:
        getattr(client, method)(**params)
    request = sent.value.request
    path = request.url[len(NOWHERE) :] or "/"
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    body = request.body or b""
    return request.method, path, headers, body.encode() if isinstance(body, str) else body


@pytest.mark.parametrize(
    "service, method, params, operation",
    [
        # awsJson: X-Amz-Target
        ("logs", "describe_log_groups", {}, "DescribeLogGroups"),
        ("resourcegroupstaggingapi", "get_resources", {}, "GetResources"),
        ("cloudwatch", "get_metric_data", {"MetricDataQueries": [], "StartTime": 0, "EndTime": 1}, "GetMetricData"),
        # awsQuery: Action in the form body
        ("sts", "get_caller_identity", {}, "GetCallerIdentity"),
        (
            "iam",
            "simulate_principal_policy",
            {"PolicySourceArn": "arn:aws:iam::1:role/r", "ActionNames": ["s3:*"]},
            "SimulatePrincipalPolicy",
        ),
        # restJson1: method and path against the model's requestUri
        ("lambda", "list_functions", {}, "ListFunctions"),
        ("lambda", "get_function", {"FunctionName": "orders"}, "GetFunction"),
        ("lambda", "get_function_concurrency", {"FunctionName": "orders"}, "GetFunctionConcurrency"),
        ("lambda", "list_function_event_invoke_configs", {"FunctionName": "orders"}, "ListFunctionEventInvokeConfigs"),
        ("lambda", "list_tags", {"Resource": "arn:aws:lambda:eu-west-1:1:function:orders"}, "ListTags"),
        ("xray", "get_service_graph", {"StartTime": 0, "EndTime": 1}, "GetServiceGraph"),
        # restXml: operations sharing a method and path differ by the query keys and headers they require
        ("s3", "put_object", {"Bucket": "reports", "Key": "latest/report.json", "Body": b"{}"}, "PutObject"),
        ("s3", "copy_object", {"Bucket": "reports", "Key": "a", "CopySource": "reports/b"}, "CopyObject"),
        (
            "s3",
            "upload_part",
            {"Bucket": "reports", "Key": "a", "PartNumber": 1, "UploadId": "u", "Body": b""},
            "UploadPart",
        ),
        ("s3", "get_object", {"Bucket": "reports", "Key": "latest/report.json"}, "GetObject"),
        ("s3", "list_objects_v2", {"Bucket": "reports"}, "ListObjectsV2"),
        ("s3", "list_objects", {"Bucket": "reports"}, "ListObjects"),
    ],
)
def test_the_operation_is_read_as_the_protocol_carries_it(service, method, params, operation):
    assert operation_of(*wire_request(service, method, **params)) == operation


def test_rpc_v2_cbor_names_the_operation_in_its_path():
    """Smithy RPC v2 CBOR: POST /service/{serviceName}/operation/{operationName}
    (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html)."""
    path = "/service/GraniteServiceVersion20100801/operation/GetMetricData"
    assert operation_of("POST", path, {"smithy-protocol": "rpc-v2-cbor"}, b"\xa0") == "GetMetricData"


def test_a_request_no_model_names_is_counted_by_service_method_and_path():
    method, _, headers, body = wire_request("lambda", "list_functions")
    assert operation_of(method, "/2015-03-31/no-such-route", headers, body) == "lambda:GET /2015-03-31/no-such-route"
    assert signing_service(headers) == "lambda"
