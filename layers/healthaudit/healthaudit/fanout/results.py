"""The Distributed Map's results, read back from S3 with bounded memory.

The Map's ResultWriter writes, under its prefix and the Map Run's ID, a ``manifest.json`` naming the
result files by the status of their child workflow executions (SUCCEEDED, FAILED, PENDING), and the
files themselves: each a JSON array of execution records (``ExecutionArn``, ``Input``, ``Output`` for a
child that succeeded, ``Error`` and ``Cause`` for one that failed, ``Status``...), up to 5 GB a file
(https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html). A file is read
in chunks and decoded one record at a time: memory holds a chunk and a record, never a whole file.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .merge import TargetResult, result_of_child_execution

RESULTS_PREFIX = "fanout/results"
"""The ResultWriter's Prefix in template.yaml: the state machine's role may write only there."""
STATUSES = ("SUCCEEDED", "FAILED", "PENDING")
CHUNK_BYTES = 1 << 20


class MalformedResults(ValueError):
    """The manifest or a result file is not what the ResultWriter writes."""


def result_files(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(status, key) of every result file the manifest lists, SUCCEEDED first."""
    files = manifest.get("ResultFiles")
    if not isinstance(files, Mapping):
        raise MalformedResults("manifest: no ResultFiles")
    listed = []
    for status in STATUSES:
        for entry in files.get(status) or []:
            key = entry.get("Key") if isinstance(entry, Mapping) else None
            if not isinstance(key, str) or not key:
                raise MalformedResults(f"manifest: a {status} entry without a Key: {entry!r}")
            listed.append((status, key))
    return listed


def map_run_results(s3: Any, bucket: str, manifest_key: str) -> Iterator[TargetResult]:
    """Every target's result of a Map Run, streamed from the ResultWriter's files in `bucket`."""
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    destination = manifest.get("DestinationBucket", bucket)
    if destination != bucket:
        raise MalformedResults(f"manifest: results in bucket {destination!r}, expected {bucket!r}")
    for status, key in result_files(manifest):
        for record in iter_json_array(_chunks(s3.get_object(Bucket=bucket, Key=key)["Body"])):
            if not isinstance(record, Mapping):
                raise MalformedResults(f"{key}: a record that is not an object: {record!r:.80}")
            yield result_of_child_execution(record, str(record.get("Status") or status))


def iter_json_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """The elements of one JSON array, decoded as its bytes arrive (UTF-8, in chunks of any size)."""
    decoder = json.JSONDecoder()
    text_of = codecs.getincrementaldecoder("utf-8")()
    buffer, position, started, finished = "", 0, False, False
    chunks = iter(chunks)
    exhausted = False
    while not finished:
        if not exhausted:
            chunk = next(chunks, None)
            if chunk is None:
                exhausted = True
                buffer += text_of.decode(b"", final=True)
            else:
                buffer = buffer[position:] + text_of.decode(chunk)
                position = 0
        while True:
            position = _skip_space(buffer, position)
            if position == len(buffer):
                break
            if not started:
                if buffer[position] != "[":
                    raise MalformedResults(f"expected a JSON array, got {buffer[position : position + 20]!r}")
                started, position = True, position + 1
                continue
            if buffer[position] == "]":
                finished, position = True, position + 1
                break
            if buffer[position] == ",":
                position += 1
                continue
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError:
                if exhausted:
                    raise MalformedResults("a result file ends inside a record") from None
                break  # the record continues in the next chunk
            if end == len(buffer) and not exhausted:
                break  # a number may go on in the next chunk: decode it again with more text
            position = end
            yield value
        if exhausted and not finished:
            raise MalformedResults("a result file ends before its array does")
    rest = buffer[position:] + "".join(text_of.decode(chunk) for chunk in chunks) + text_of.decode(b"", final=True)
    if rest.strip(" \t\r\n"):
        raise MalformedResults(f"text after the result file's array: {rest.strip()[:40]!r}")


def _chunks(body: Any) -> Iterator[bytes]:
    while chunk := body.read(CHUNK_BYTES):
        yield chunk


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
