"""The Distributed Map's results as the merge reads them: ResultWriter records, streamed JSON arrays, and
errors kept short (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html)."""

from __future__ import annotations

import json

import pytest

from healthaudit.fanout.merge import MAX_ERROR_CHARS, TargetResult, error_text, result_of_child_execution
from healthaudit.fanout.results import MalformedResults, iter_json_array, result_files

TARGET = {"account": "111111111111", "region": "eu-west-1", "role_arn": "arn:aws:iam::111111111111:role/r"}
RECORDS = [{"index": i, "text": "é" * (i % 5), "numbers": [1.5, 12345]} for i in range(60)] + [12345, "x", None]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 7, 64, 1 << 20])
def test_a_result_file_decodes_the_same_whatever_its_chunks(chunk_bytes):
    raw = json.dumps(RECORDS, ensure_ascii=False).encode("utf-8") + b"\n"
    chunks = [raw[i : i + chunk_bytes] for i in range(0, len(raw), chunk_bytes)]
    assert list(iter_json_array(chunks)) == RECORDS


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"[1,2", "ends before its array does"),
        (b'{"a": 1}', "expected a JSON array"),
        (b"[1] x", "text after the result file's array"),
        (b'[{"a":', "ends inside a record"),
    ],
)
def test_a_malformed_result_file_is_refused_not_half_read(raw, message):
    with pytest.raises(MalformedResults, match=message):
        list(iter_json_array([raw[i : i + 1] for i in range(len(raw))]))


def test_the_manifest_lists_succeeded_then_failed_then_pending_files():
    manifest = {
        "ResultFiles": {
            "PENDING": [{"Key": "p/PENDING_0.json", "Size": 2}],
            "FAILED": [{"Key": "p/FAILED_0.json", "Size": 2}],
            "SUCCEEDED": [{"Key": "p/SUCCEEDED_0.json", "Size": 2}, {"Key": "p/SUCCEEDED_1.json", "Size": 2}],
        }
    }
    assert result_files(manifest) == [
        ("SUCCEEDED", "p/SUCCEEDED_0.json"),
        ("SUCCEEDED", "p/SUCCEEDED_1.json"),
        ("FAILED", "p/FAILED_0.json"),
        ("PENDING", "p/PENDING_0.json"),
    ]
    with pytest.raises(MalformedResults, match="without a Key"):
        result_files({"ResultFiles": {"SUCCEEDED": [{"Size": 1}]}})


ITEM = json.dumps({"target": TARGET, "time": "2026-11-28T06:00:00Z"})
LAMBDA_CAUSE = json.dumps({"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": ["  File ..."] * 50})


@pytest.mark.parametrize(
    "record, status, expected",
    [
        (
            {"Output": json.dumps({"account": "111111111111", "region": "eu-west-1", "report_key": "reports/k"})},
            "SUCCEEDED",
            TargetResult("111111111111", "eu-west-1", report_key="reports/k"),
        ),
        (  # the role could not be assumed: the child succeeded, with an error as its result
            {
                "Output": json.dumps(
                    {"account": "1", "region": "r", "error": {"Error": "AssumeRoleFailed", "Cause": "no"}}
                )
            },
            "SUCCEEDED",
            TargetResult("1", "r", error="AssumeRoleFailed: no"),
        ),
        (  # a child that failed past its Catch: its input names the target, Lambda's error document its cause
            {"Input": ITEM, "Error": "States.Runtime", "Cause": LAMBDA_CAUSE},
            "FAILED",
            TargetResult("111111111111", "eu-west-1", error="States.Runtime: boom"),
        ),
        (
            {"Input": ITEM},
            "PENDING",
            TargetResult(
                "111111111111",
                "eu-west-1",
                error="not run: the Map Run stopped before this target's child workflow started",
            ),
        ),
        (  # neither output nor input readable: still listed, never dropped
            {"Output": "not json"},
            "SUCCEEDED",
            TargetResult("?", "?", error="the child workflow's output is not a result"),
        ),
    ],
)
def test_each_resultwriter_record_becomes_one_targets_result(record, status, expected):
    assert result_of_child_execution(record, status) == expected


@pytest.mark.parametrize("length, kept", [(MAX_ERROR_CHARS, MAX_ERROR_CHARS), (MAX_ERROR_CHARS + 1, None)])
def test_an_error_is_kept_to_its_first_500_characters_cut_at_a_word(length, kept):
    cause = ("word " * length)[: length - len("States.TaskFailed: ")]
    text = error_text({"Error": "States.TaskFailed", "Cause": cause}, None)
    if kept:
        assert len(text) == kept and not text.endswith("…")
    else:
        assert len(text) <= MAX_ERROR_CHARS and text.endswith("…") and text[:-1].endswith("word")
