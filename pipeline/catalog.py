"""The parameter catalog: every control a pipeline takes, with its range, default and `ui` metadata, in one place.

The schemas (`/api/v1/pipelines/schemas`), the validation of every parameter message, the studio's generated
controls and the audio mapper all read it, so a range is declared once: on a pydantic field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from .parameters import NOTIFIED_KEYS, Parameters
from .protocol import PipelineInfo

Kind = Literal['bool', 'int', 'float', 'enum', 'text', 'list']


@dataclass(slots=True)
class FieldSpec:
    """One property of a schema: its type, bounds, default and how the studio shows it."""

    key: str
    label: str
    kind: Kind
    component: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    options: list[Any] = field(default_factory=list)
    order: int = 1000
    description: str | None = None
    is_load_param: bool = False
    modulation: tuple[float, float] | None = None  # the range a modulation source may drive it over, if any
    item_kind: Kind | None = None  # for lists: what each entry is


def schema_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    """The properties of a pydantic JSON schema that can be shown as controls, in `ui.order`."""
    definitions = schema.get('$defs', {})
    specs = [spec for key, prop in schema.get('properties', {}).items()
             if (spec := field_spec(key, prop, definitions)) is not None]
    return sorted(specs, key=lambda spec: (spec.order, spec.key))


def field_spec(key: str, prop: dict[str, Any], definitions: dict[str, Any]) -> FieldSpec | None:
    """How one property is described (None for shapes a form cannot edit, such as nested objects)."""
    meta = prop.get('ui') or {}
    body = _resolve(prop, definitions)
    kind = _kind(body)
    if kind is None:
        return None
    step = 1 if kind == 'int' else 0
    minimum = _bound(body, 'minimum', 'exclusiveMinimum', step)
    maximum = _bound(body, 'maximum', 'exclusiveMaximum', -step)
    low, high = meta.get('modulatable_min', minimum), meta.get('modulatable_max', maximum)
    modulation = (float(low), float(high)) if meta.get('modulatable') and low is not None and high is not None \
        else None
    label = meta.get('label') or prop.get('title') or key.replace('_', ' ').capitalize()
    return FieldSpec(key=key, label=label, kind=kind, component=meta.get('component'),
                     minimum=minimum, maximum=maximum,
                     default=prop.get('default', body.get('default')), options=list(body.get('enum', [])),
                     order=int(meta.get('order', 1000)), description=prop.get('description'),
                     is_load_param=bool(meta.get('is_load_param')),
                     modulation=modulation,
                     item_kind=_kind(body.get('items', {})) if kind == 'list' else None)


def runtime_fields(info: PipelineInfo | None) -> dict[str, FieldSpec]:
    """The runtime controls of a pipeline: the common ones, overridden by what the pipeline declares itself."""
    fields = {spec.key: spec for spec in model_fields(Parameters)}
    if info is not None and info.runtime_params is not None:
        fields.update({spec.key: spec for spec in model_fields(info.runtime_params)})
    return fields


def pipeline_fields(info: PipelineInfo) -> list[FieldSpec]:
    """The controls a pipeline declares itself (its runtime schema), in `ui.order`."""
    return list(model_fields(info.runtime_params)) if info.runtime_params is not None else []


@cache
def model_fields(model: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """The fields of a pydantic model as controls (computed once per model class)."""
    return tuple(schema_fields(model.model_json_schema()))


def notified_keys(info: PipelineInfo | None) -> frozenset[str]:
    """The keys `parameters_updated` may report for a pipeline: the common controls and the pipeline's own."""
    if info is None or info.runtime_params is None:
        return NOTIFIED_KEYS
    return NOTIFIED_KEYS | frozenset(info.runtime_params.model_fields)


def modulatable(info: PipelineInfo | None) -> dict[str, tuple[float, float]]:
    """Every control a modulation source (the audio loop, later LFOs and OSC) may drive, with its range."""
    return {key: spec.modulation for key, spec in runtime_fields(info).items() if spec.modulation is not None}


def _resolve(prop: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The property's own schema: `$ref` followed, the non-null branch of `anyOf` (for `X | None`) taken."""
    if '$ref' in prop:
        return {**prop, **definitions.get(prop['$ref'].rsplit('/', 1)[-1], {})}
    for combined in ('anyOf', 'oneOf', 'allOf'):
        if combined in prop:
            branches = [b for b in prop[combined] if b.get('type') != 'null']
            if branches:
                return {**prop, **_resolve(branches[0], definitions)}
    return prop


def _kind(body: dict[str, Any]) -> Kind | None:
    if 'enum' in body or 'const' in body:
        return 'enum'
    kinds: dict[str, Kind] = {'boolean': 'bool', 'integer': 'int', 'number': 'float', 'string': 'text', 'array': 'list'}
    kind = kinds.get(str(body.get('type')))
    if kind == 'list' and body.get('items', {}).get('type') not in ('integer', 'number', 'string'):
        return None
    return kind


def _bound(body: dict[str, Any], inclusive: str, exclusive: str, step: int) -> float | None:
    """An inclusive bound; an exclusive one of an integer moves by one (`lt=2**32` is at most 2**32 - 1)."""
    if inclusive in body:
        return float(body[inclusive])
    return None if body.get(exclusive) is None else float(body[exclusive]) + step
