"""The one config system: pydantic models read from YAML (or built in code), unknown keys rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from kvqae.errors import InputError

M = TypeVar("M", bound="ConfigModel")


class ConfigModel(BaseModel):
    """Base of every config section: typo'd keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", path=path)
    if path.is_dir():
        raise InputError("expected a YAML file, got a folder", path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", path=path) from None
    # ValueError: a date such as 2001-02-30; OverflowError: an escape such as "\Ue000CBAF"
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as e:
        raise InputError(f"invalid YAML: {' '.join(str(e).split())}", path=path) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("top level must be a mapping", path=path)
    return data


def parse_config(model: type[M], data: dict[str, Any], *, path: str | Path | None = None) -> M:
    """Validate `data` against `model`; the first problem becomes an InputError naming the key path."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        message = err["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        raise InputError(message, path=path, field=field) from None


def load_config(model: type[M], path: str | Path) -> M:
    return parse_config(model, load_yaml(path), path=path)
