"""Configuration reference as Markdown, generated from the pydantic models themselves,
so the documentation cannot drift from what the code accepts."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (X, list[X], X | None, Annotated[...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    text = str(annotation).replace("typing.", "").replace("pathlib.", "")
    if isinstance(annotation, types.UnionType | typing._UnionGenericAlias):  # type: ignore[attr-defined]
        text = " | ".join(_type_name(a) for a in typing.get_args(annotation))
    return text


def rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = _models_in(annotation)
        path = f"{prefix}{name}"
        is_list = typing.get_origin(annotation) is list
        if len(nested) == 1 and not is_list:
            out += rows(nested[0], f"{path}.")
            continue
        if nested:
            for sub in nested:
                kind = sub.model_fields.get("type")
                label = f"[type={kind.default}]" if kind is not None else "[]"
                out += rows(sub, f"{path}{label}.")
            continue
        if info.is_required():
            default = "required"
        elif info.default_factory is not None:
            default = f"`{info.default_factory()!r}`"  # type: ignore[call-arg]
        else:
            default = f"`{info.default!r}`"
        type_name = _type_name(annotation).replace("|", "\\|")
        description = (info.description or "").replace("|", "\\|")
        out.append(f"| `{path}` | `{type_name}` | {default} | {description} |")
    return out


def reference(model: type[BaseModel]) -> str:
    header = ["| field | type | default | description |", "|---|---|---|---|"]
    return "\n".join(header + rows(model))
