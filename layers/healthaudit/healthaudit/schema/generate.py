"""The reports' JSON Schemas, derived from the model's dataclasses: the files beside this module are its output.

`python -m healthaudit.schema.generate` rewrites them; tests/contract/test_report_schema.py checks that the
committed files equal what this module derives, so a change to the model shows up in the schema's diff.

Every key of a record is required (the codec always writes it; optional values are null), records
take no other keys, and descriptions are the dataclasses' attribute docstrings.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import itertools
import json
import re
import textwrap
import typing
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ..model import AuditReport, ConsolidatedReport
from ..model.codec import Wire, is_record, optional_arm, shape, slots, wire_of
from ..model.common import SCHEMA_VERSION, TIMESTAMP

DRAFT = "https://json-schema.org/draft/2020-12/schema"
HERE = Path(__file__).resolve().parent
_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


def report_schema() -> dict[str, Any]:
    return json_schema(AuditReport, name="report", title="Lambda health audit report")


def consolidated_schema() -> dict[str, Any]:
    return json_schema(
        ConsolidatedReport, name="consolidated", title="Lambda health audit: the consolidated report of a run"
    )


SCHEMAS = {"report.schema.json": report_schema, "consolidated.schema.json": consolidated_schema}


def schema_text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path = HERE) -> list[Path]:
    written = []
    for filename, build in SCHEMAS.items():
        path = directory / filename
        path.write_text(schema_text(build()), encoding="utf-8")
        written.append(path)
    return written


def json_schema(root: type, *, name: str, title: str) -> dict[str, Any]:
    builder = _Builder()
    body = builder.record_body(root)
    head = {"$schema": DRAFT, "$id": f"urn:healthaudit:schema:{name}:{SCHEMA_VERSION}", "title": title}
    return {**head, **body, "$defs": builder.defs}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def record_body(self, cls: type) -> dict[str, Any]:
        properties = self.properties(cls)
        order = shape(cls).order
        if order:
            properties = {key: properties[key] for key in order} | {
                key: node for key, node in properties.items() if key not in order
            }
        return {
            **_described(_class_doc(cls)),
            "type": "object",
            "additionalProperties": False,
            "required": list(properties),
            "properties": properties,
        }

    def properties(self, cls: type) -> dict[str, Any]:
        docs = _attribute_docs(cls)
        properties: dict[str, Any] = {}
        for slot in slots(cls):
            if slot.wire.omit:
                continue
            if slot.wire.flatten:
                properties.update(self.properties(slot.hint))
                continue
            node = dict(slot.wire.schema) if slot.wire.schema is not None else self.node(slot.hint)
            node.update(slot.wire.constraints)
            properties[slot.key] = {**_described(slot.wire.description or docs.get(slot.name)), **node}
        for item in shape(cls).computed:
            properties[item.key] = {**_described(item.description), **self.node(item.type)}
        return properties

    def node(self, hint: Any) -> dict[str, Any]:
        if hint is datetime:
            hint = typing.Annotated[str, TIMESTAMP]
        base, wire = wire_of(hint)
        if wire is not None and wire.ref:
            if wire.ref not in self.defs:
                self.defs[wire.ref] = {**_described(wire.description), **self.plain(base, wire)}
            return {"$ref": f"#/$defs/{wire.ref}"}
        return self.plain(base, wire)

    def plain(self, hint: Any, wire: Wire | None) -> dict[str, Any]:
        constraints = dict(wire.constraints) if wire is not None else {}
        arm = optional_arm(hint)
        if arm is not None:
            inner = self.node(arm)
            if isinstance(inner.get("type"), str) and "$ref" not in inner:
                return {**inner, "type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        if hint is Any:
            return {}
        if is_record(hint):
            return self.record_ref(hint)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            name = _snake(hint.__name__)
            self.defs.setdefault(name, {**_described(_class_doc(hint)), "enum": [member.value for member in hint]})
            return {"$ref": f"#/$defs/{name}"}
        if hint in _SCALARS:
            return {"type": _SCALARS[hint], **constraints}
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is Literal:
            return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
        if origin in (tuple, list):
            return {"type": "array", "items": self.node(args[0])}
        if origin in (dict, Mapping):
            key, value = args
            if isinstance(key, type) and issubclass(key, enum.Enum):
                # An enum-keyed mapping names every member (counts by severity).
                members = [member.value for member in key]
                return {
                    "type": "object",
                    "additionalProperties": False,
                    "required": members,
                    "properties": {member: self.node(value) for member in members},
                }
            return {"type": "object"} if value is Any else {"type": "object", "additionalProperties": self.node(value)}
        raise TypeError(f"no JSON Schema for {hint!r}")

    def record_ref(self, cls: type) -> dict[str, Any]:
        name = _snake(cls.__name__)
        if name not in self.defs:
            self.defs[name] = {}  # taken before the body, so a record that contains itself ends
            self.defs[name] = self.record_body(cls)
        return {"$ref": f"#/$defs/{name}"}


def _described(text: str | None) -> dict[str, str]:
    return {"description": text} if text else {}


def _one_line(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split())


def _class_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")):
        return None  # dataclasses write a signature where the class has no docstring
    return _one_line(doc)


@cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """The string literal under each field of the class body: the field's description."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = _one_line(following.value.value)
    return docs


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


if __name__ == "__main__":
    for path in write_schemas():
        print(path)
