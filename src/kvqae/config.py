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


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping key written twice: `key`, the (1-based) `line` of the repeat and the `first` line."""

    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(None, None, f"duplicate key {key!r} (line {line}, first at line {first})")
        self.key, self.line, self.first = key, line, first


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key written twice in one mapping is an error (PyYAML keeps the last
    value silently). Keys brought in by a `<<` merge may still be overridden, as YAML specifies."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first:
                    raise DuplicateKeyError(key, line, first[key])
                first[key] = line
            except TypeError:  # an unhashable key: the parent method says so
                pass
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, *, path: str | Path | None = None, field: str | None = None) -> Any:
    """`yaml.safe_load` of `text`, except that a key written twice in one mapping is refused (PyYAML keeps the
    last value silently); any problem is one InputError naming `path` / `field` (and the line of a repeat)."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except DuplicateKeyError as e:
        raise InputError(f"duplicate key {e.key!r} (first at line {e.first}); write each key once",
                         path=path, record=e.line, field=field) from None
    # ValueError: a date such as 2001-02-30; OverflowError: an escape such as "\Ue000CBAF"
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as e:
        raise InputError(f"invalid YAML: {' '.join(str(e).split())}", path=path, field=field) from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", path=path)
    if path.is_dir():
        raise InputError("expected a YAML file, got a folder", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", path=path) from None
    data = parse_yaml(text, path=path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("top level must be a mapping", path=path)
    return data


def parse_config(
    model: type[M], data: dict[str, Any], *, path: str | Path | None = None,
    names: dict[str, str] | None = None,
) -> M:
    """Validate `data` against `model`; the first problem becomes an InputError naming the key path, or
    the name the user typed for it (`names`: a CLI's field -> flag, "style_shift" -> "--style-shift")."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        field = (names or {}).get(field, field) if field else None
        message = err["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        raise InputError(message, path=path, field=field) from None


def load_config(model: type[M], path: str | Path) -> M:
    return parse_config(model, load_yaml(path), path=path)
