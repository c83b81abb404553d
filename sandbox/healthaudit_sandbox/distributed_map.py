"""The Distributed Map's child workflows and its ResultWriter, as healthaudit_sandbox.stepfunctions installs
them into moto's interpreter (its module docstring says what each closes)."""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from healthaudit_sandbox.role_policies import role_allows

_lock = threading.Lock()


@dataclass
class _ChildExecution:
    """One child workflow of a Distributed Map, as its ResultWriter record needs it."""

    index: int
    input: Any
    start: datetime.datetime
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stop: datetime.datetime | None = None
    name: str = field(default_factory=lambda: str(uuid.uuid4()))


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _children(map_run_record: Any) -> tuple[threading.Lock, list[_ChildExecution]]:
    with _lock:
        if not hasattr(map_run_record, "_sandbox_children"):
            map_run_record._sandbox_children = (threading.Lock(), [])
        return map_run_record._sandbox_children


def eval_child(self: Any, env: Any, job: Any) -> None:
    """One child workflow of a Distributed Map (DistributedItemProcessorWorker._eval_job), its outcome kept."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    record = self._map_run_record
    items, executions = record.item_counter, record.execution_counter
    for counter in (items.total, items.running, executions.total, executions.running):
        counter.count()
    child = _ChildExecution(index=job.job_index, input=job.job_input, start=_now())
    job_output = None
    try:
        env.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=job.job_index, Value=job.job_input)
        )
        env.states.reset(job.job_input)
        env.stack.append(env.states.get_input())
        self._eval_input(env_frame=env)
        child.input = env.states.get_input()  # the child's input is the item as ItemSelector shaped it
        _authorize_child_start(env)  # StartExecution's input is the shaped item
        job.job_program.eval(env)
        state = env.program_state()
        if isinstance(state, ProgramError):
            details = state.error or {}
            child.status, child.error, child.cause = "FAILED", details.get("error"), details.get("cause")
            items.failed.count()
            executions.failed.count()
        elif isinstance(state, ProgramStopped):
            child.status = "ABORTED"
            items.aborted.count()
            executions.aborted.count()
        else:  # ProgramEnded
            job_output = env.states.get_input()
            child.status, child.output = "SUCCEEDED", job_output
            for counter in (items.succeeded, items.results_written, executions.succeeded, executions.results_written):
                counter.count()
    except FailureEventException as failure:
        pair = failure.extract_error_cause_pair() or (None, None)
        child.status, child.error, child.cause = "FAILED", pair[0] or "States.Runtime", pair[1]
        items.failed.count()
        executions.failed.count()
    except _ChildNotStarted as refused:
        child.status, child.error, child.cause = "FAILED", "States.Runtime", str(refused)
        items.failed.count()
        executions.failed.count()
    except Exception as error:  # noqa: BLE001 - any other fault fails this child, as a runtime error
        child.status, child.error, child.cause = "FAILED", "States.Runtime", f"{type(error).__name__}: {error}"
        items.failed.count()
        executions.failed.count()
    finally:
        items.running.offset(-1)
        executions.running.offset(-1)
        child.stop = _now()
        job.job_output = job_output
        lock, children = _children(record)
        with lock:
            children.append(child)


def _authorize_child_start(env: Any) -> None:
    """Each child workflow is a StartExecution by the state machine's role on the state machine itself
    (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html). What AWS reports
    when the role may not is undocumented; here the child fails with States.Runtime naming the permission,
    which the auditor's definition tolerates and its merge lists as a target not audited."""
    context = env.states.context_object.context_object_data
    role_arn = context["Execution"]["RoleArn"]
    machine = context["StateMachine"]["Id"]
    name = machine.split(":stateMachine:", 1)[-1]
    parent = machine[: len(machine) - len(name)] + name.split("/", 1)[0]  # a child's Id names the Map: machine/Map
    region = parent.split(":")[3]
    if not role_allows(role_arn, region, "states:StartExecution", parent):
        raise _ChildNotStarted(
            f"User: {role_arn} is not authorized to perform: states:StartExecution on resource: {parent}"
            " because no identity-based policy allows the states:StartExecution action"
        )


class _ChildNotStarted(RuntimeError):
    pass


def write_results(env: Any, resource_runtime_part: Any, state_credentials: Any, client_for: Callable[..., Any]) -> None:
    """The ResultWriter's s3:putObject: result files by status, then the manifest (module docstring)."""
    parameters = env.stack.pop()
    env.stack.pop()  # the children's outputs: the records below carry them, with their inputs and errors
    map_run_record = env.map_run_record_pool_manager.get_all()[-1]
    map_run_arn = map_run_record.map_run_arn
    bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{map_run_arn.rsplit(':', 1)[-1]}/"
    s3 = client_for(resource_runtime_part.region, "s3", state_credentials)
    _, children = _children(map_run_record)
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    by_status: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
    for child in sorted(children, key=lambda c: c.index):
        if child.status in by_status:
            by_status[child.status].append(_execution_record(child, map_run_arn))
    for status, records in by_status.items():
        if not records:
            continue
        key = f"{folder}{status}_0.json"
        body = json.dumps(records, separators=(",", ":")).encode("utf-8")
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest_key = f"{folder}manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode("utf-8"))
    env.stack.append({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}})


def _execution_record(child: _ChildExecution, map_run_arn: str) -> dict[str, Any]:
    """A child execution as a result file lists it (input-output-resultwriter.html's example)."""
    # arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID -> the child's execution:MACHINE/LABEL:NAME
    machine_and_label = map_run_arn.split(":mapRun:", 1)[-1].rsplit(":", 1)[0]
    arn_prefix = map_run_arn.split(":mapRun:", 1)[0]
    record: dict[str, Any] = {
        "ExecutionArn": f"{arn_prefix}:execution:{machine_and_label}:{child.name}",
        "Input": json.dumps(child.input, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": child.name,
        "RedriveCount": 0,
        "StartDate": child.start.isoformat(),
        "StateMachineArn": f"{arn_prefix}:stateMachine:{machine_and_label}",
        "Status": child.status,
        "StopDate": (child.stop or child.start).isoformat(),
    }
    if child.status == "SUCCEEDED":
        record["Output"] = json.dumps(child.output, separators=(",", ":"))
        record["OutputDetails"] = {"Included": True}
        record["RedriveStatus"] = "NOT_REDRIVABLE"
        record["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        if child.error is not None:
            record["Error"] = child.error
        if child.cause is not None:
            record["Cause"] = child.cause
        record["RedriveStatus"] = "REDRIVABLE"
    return record


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
