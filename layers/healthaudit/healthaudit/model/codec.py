"""The JSON form of the model's dataclasses, derived from their type hints: one definition per shape.

A report shape is a frozen dataclass deriving from :class:`Record`. Its ``to_dict``/``from_dict``
follow the type hints (``typing.get_type_hints``), so the dataclass is the only place a shape is
written down; ``healthaudit.schema.generate`` derives the JSON Schema from the same hints.

- datetimes are UTC ISO 8601 strings to the second (``2024-05-02T06:00:00Z``); enums are their values;
- tuples and lists are arrays; mappings are objects (keys sorted where a field asks, ``Wire(sort_keys=True)``);
- ``Annotated[T, Wire(...)]`` adds constraints, a description or a shared schema name to a type;
- ``field(metadata=wire(...))`` renames a key, flattens a nested record into its parent, leaves a
  field out of the JSON form, or reads it back from the parent's keys (``read``);
- a class's ``__wire__ = Shape(...)`` adds computed keys (written, never read back) and fixes the key order.

Reading is lenient as the stored reports require: a missing key takes the field's default (None,
or an empty collection), so a report written before a key existed still parses.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from functools import cache
from typing import Any, TypeVar, Union

R = TypeVar("R", bound="Record")


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: Annotated[...] hashes its metadata
class Wire:
    """How one field or type appears in the JSON form and its schema."""

    description: str | None = None
    key: str | None = None
    """The field's key in the JSON form, when it differs from the attribute's name."""
    ref: str | None = None
    """A name under the schema's $defs, for a constrained type that several fields share."""
    flatten: bool = False
    """The nested record's keys are the parent's own keys."""
    omit: bool = False
    """Not in the JSON form; `read` rebuilds it from the parent's keys, or the default applies."""
    read: Callable[[Mapping[str, Any]], Any] | None = None
    write: Callable[[Any], Any] | None = None
    """What is written for the field, from the whole record (an order, a rounding); by default the attribute."""
    sort_keys: bool = False
    constraints: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """JSON Schema keywords added to the generated node (pattern, minimum, minLength...)."""
    schema: Mapping[str, Any] | None = None
    """The schema node itself, for data whose shape another module owns (it is copied verbatim)."""


def wire(**options: Any) -> dict[str, Wire]:
    """Field metadata: ``field(default=None, metadata=wire(key="downstream"))``."""
    return {"wire": Wire(**options)}


@dataclasses.dataclass(frozen=True)
class Computed:
    """A key written from the record's other attributes (a property, a count); ignored when read."""

    key: str
    type: Any
    value: Callable[[Any], Any]
    description: str | None = None


@dataclasses.dataclass(frozen=True)
class Shape:
    order: tuple[str, ...] = ()
    """The keys in the order they are written; by default the fields', then the computed keys."""
    computed: tuple[Computed, ...] = ()


class Record:
    """Base of the model's JSON-able dataclasses: ``to_dict`` and ``from_dict`` derived from the type hints."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return encode_record(self)

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        return decode_record(cls, data)


# -- what a type hint says --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Slot:
    """One field of a record as the codec sees it."""

    name: str
    key: str
    hint: Any
    wire: Wire
    default: Any


def wire_of(hint: Any) -> tuple[Any, Wire | None]:
    """The type under ``Annotated[...]`` and its Wire, if any."""
    if typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        found = next((extra for extra in extras if isinstance(extra, Wire)), None)
        return base, found
    return hint, None


def optional_arm(hint: Any) -> Any | None:
    """T for ``T | None``; None for any other type."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        arms = [arm for arm in typing.get_args(hint) if arm is not type(None)]
        if len(arms) == 1 and len(typing.get_args(hint)) == 2:
            return arms[0]
    return None


def is_record(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


@cache
def slots(cls: type) -> tuple[Slot, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    result = []
    for item in dataclasses.fields(cls):
        meta = item.metadata.get("wire") or Wire()
        if item.default is not dataclasses.MISSING:
            default: Any = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = item.default_factory
        else:
            default = dataclasses.MISSING
        result.append(Slot(item.name, meta.key or item.name, hints[item.name], meta, default))
    return tuple(result)


def shape(cls: type) -> Shape:
    return getattr(cls, "__wire__", None) or Shape()


# -- writing ----------------------------------------------------------------------------------------


def encode_record(record: Any) -> dict[str, Any]:
    cls = type(record)
    data: dict[str, Any] = {}
    for slot in slots(cls):
        if slot.wire.omit:
            continue
        value = slot.wire.write(record) if slot.wire.write else getattr(record, slot.name)
        if slot.wire.flatten:
            data.update(encode_record(value))
        else:
            data[slot.key] = encode(value, slot.hint, slot.wire.sort_keys)
    for item in shape(cls).computed:
        data[item.key] = encode(item.value(record), item.type)
    order = shape(cls).order
    if order:
        data = {key: data[key] for key in order} | {key: value for key, value in data.items() if key not in order}
    return data


def encode(value: Any, hint: Any, sort_keys: bool = False) -> Any:
    hint, _ = wire_of(hint)
    if value is None:
        return None
    arm = optional_arm(hint)
    if arm is not None:
        return encode(value, arm, sort_keys)
    if hint is Any:
        # Open data (evidence, fingerprints) is written as the check or collector gave it.
        return dict(value) if isinstance(value, Mapping) else value
    if is_record(hint):
        return encode_record(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, list):
        return [encode(item, args[0]) for item in value]
    if origin in (dict, Mapping):
        items = sorted(value.items()) if sort_keys else value.items()
        return {encode(key, args[0]): encode(item, args[1]) for key, item in items}
    return value


# -- reading ----------------------------------------------------------------------------------------


def decode_record(cls: type[R], data: Mapping[str, Any]) -> R:
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__}: got {type(data).__name__}, expected a JSON object")
    values: dict[str, Any] = {}
    for slot in slots(cls):
        if slot.wire.read is not None:
            values[slot.name] = slot.wire.read(data)
        elif slot.wire.flatten:
            values[slot.name] = decode_record(slot.hint, data)
        elif slot.wire.omit or (slot.key not in data and slot.default is not dataclasses.MISSING):
            continue
        elif slot.key in data:
            values[slot.name] = decode(data[slot.key], slot.hint)
        else:
            values[slot.name] = missing(slot)
    return cls(**values)


def missing(slot: Slot) -> Any:
    """What a key that an older report lacks reads as: None, an empty collection; else it is required."""
    hint, _ = wire_of(slot.hint)
    if optional_arm(hint) is not None:
        return None
    if typing.get_origin(hint) in (tuple, list):
        return ()
    if typing.get_origin(hint) in (dict, Mapping):
        return {}
    raise KeyError(slot.key)


def decode(value: Any, hint: Any) -> Any:
    return decoder(hint)(value)


_decoders: dict[int, tuple[Any, Callable[[Any], Any]]] = {}


def decoder(hint: Any) -> Callable[[Any], Any]:
    """The function that reads a JSON value as `hint`, worked out once per type: reading a report walks the same
    few types thousands of times (a merge reads thousands of reports). Keyed by identity, as an Annotated type's
    Wire holds a dict and does not hash; the type is kept with it, so that its id is never reused."""
    known = _decoders.get(id(hint))
    if known is None:
        known = _decoders[id(hint)] = (hint, _compile(hint))
    return known[1]


def _compile(hint: Any) -> Callable[[Any], Any]:
    hint, _ = wire_of(hint)
    arm = optional_arm(hint)
    if arm is not None:
        inner = decoder(arm)
        return lambda value: None if value is None else inner(value)
    if hint is Any:
        return lambda value: dict(value) if isinstance(value, Mapping) else value
    if is_record(hint):
        return lambda value: decode_record(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is datetime:
        return parse_iso
    if hint is date:
        return date.fromisoformat
    if hint in (bool, int, float):
        return hint
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, list):
        item = decoder(args[0])
        return lambda value: tuple(item(element) for element in value or ())
    if origin in (dict, Mapping):
        key, item = decoder(args[0]), decoder(args[1])
        return lambda value: {key(k): item(v) for k, v in (value or {}).items()}
    return lambda value: value


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
