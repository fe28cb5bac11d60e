"""The one config system: pydantic models read from YAML (or built in code), unknown keys rejected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)

from kvqae.errors import InputError
from kvqae.io import decode_utf8, not_found

M = TypeVar("M", bound="ConfigModel")

_VALIDATORS = (BeforeValidator, PlainValidator, WrapValidator)
_NUMBER_ONLY: dict[tuple[type, str], bool] = {}  # (model, field) -> a bool given there is refused


def _leaf_types(annotation: Any) -> set[Any]:
    """The types an annotation is built of (`dict[str, tuple[float, float]] | None` -> str, float, None);
    Any for a part with its own validator (it may read booleans on purpose)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return {type(a) for a in args}
    if origin is Annotated:
        if any(isinstance(m, _VALIDATORS) for m in args[1:]):
            return {Any}
        return _leaf_types(args[0])
    if not args:
        return {annotation}
    return set().union(*(_leaf_types(a) for a in args))


def _number_only(model: type[BaseModel], name: str) -> bool:
    """Field `name` of `model` takes numbers (int or float) and never a bool, Any or a nested model."""
    key = (model, name)
    if key not in _NUMBER_ONLY:
        info = model.model_fields[name]
        own_validator = any(isinstance(m, _VALIDATORS) for m in info.metadata)
        leaves = {Any} if own_validator else _leaf_types(info.annotation)
        nested = any(isinstance(t, type) and issubclass(t, BaseModel) for t in leaves)
        _NUMBER_ONLY[key] = bool(leaves & {int, float}) and not (leaves & {bool, Any, object}) and not nested
    return _NUMBER_ONLY[key]


def _first_bool(value: Any) -> bool | None:
    """The first bool in `value` (itself, or inside its lists / tuples / mapping values), else None."""
    if isinstance(value, bool):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = _first_bool(item)
        if found is not None:
            return found
    return None


def home_path(value: Any) -> Any:
    """A path written `~/...` (or `~user/...`) in a YAML config, with the home folder in place of `~`: YAML
    keeps it as written, so `output_dir: ~/models/clip` was a folder named "~" in the current folder and
    `kb: ~/kb` "not found". Anything else is returned as given (for the field's own validation)."""
    return os.path.expanduser(value) if isinstance(value, str) and value.startswith("~") else value


class ConfigModel(BaseModel):
    """Base of every config section: typo'd keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads true as 1 for an int or float field: `k: true`, or `batch_size: on` (YAML 1.1 reads
        # yes/no/on/off as booleans) would run with k = 1 / batch_size = 1. Strings ("5" from a --set or a
        # hand-written file) still convert.
        found = _first_bool(value)
        if found is not None and info.field_name is not None and _number_only(cls, info.field_name):
            what = "be a number" if isinstance(value, bool) else "hold numbers"
            raise ValueError(f"must {what}, not the boolean {str(found).lower()} "
                             "(YAML reads yes/no/on/off as booleans too)")
        return value


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

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """An integer, except the YAML 1.1 forms that read as another number than the digits say: a leading
        zero is octal (`seed: 010` was 8, `k: 0100` 64) and colons count in base 60 (`1:30` was 90)."""
        text = str(self.construct_scalar(node)).replace("_", "").lstrip("+-")
        value = super().construct_yaml_int(node)
        octal = len(text) > 1 and text[0] == "0" and text.isdigit() and int(text, 8) != int(text, 10)
        if octal or ":" in text:
            sign = "-" if str(node.value).lstrip().startswith("-") else ""
            kind, other = "a base-60 number,", ""
            if octal:
                kind, other = "the octal number", f", or {sign}{int(text, 10)} without the leading zero"
            raise AmbiguousNumberError(f"{node.value!r} is read by YAML as {kind} {value}: write {value} if "
                                       f"that is meant{other} (quote it for a text)",
                                       node.start_mark.line + 1)
        return value


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)


class AmbiguousNumberError(yaml.YAMLError):
    """A YAML 1.1 integer whose value is not what its digits read as in base 10 (octal, base 60)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


_MAX_YAML_VALUES = 1_000_000  # values a document may hold once its aliases are expanded


def _check_aliases(data: Any, path: str | Path | None, field: str | None) -> None:
    """Refuse YAML whose aliases make a structure contain itself (`fusion: &a [*a]`: every later walk
    recursed without end) or expand to more than `_MAX_YAML_VALUES` values (nested aliases, "billion laughs":
    a few hundred bytes that every later walk over the config expands to billions)."""
    sizes: dict[int, int] = {}

    def size(value: Any, open_ids: set[int]) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        key = id(value)
        if key in open_ids:
            raise InputError("an alias refers to a structure that contains it (a recursive YAML alias)",
                             path=path, field=field)
        if key not in sizes:  # a shared alias is sized once: linear in the document's own size
            open_ids.add(key)
            items = list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
            sizes[key] = 1 + sum(size(item, open_ids) for item in items)
            open_ids.discard(key)
            if sizes[key] > _MAX_YAML_VALUES:
                raise InputError(f"its aliases expand to more than {_MAX_YAML_VALUES:,} values; write the "
                                 "values out, or use fewer nested aliases", path=path, field=field)
        return sizes[key]

    size(data, set())


def parse_yaml(text: str, *, path: str | Path | None = None, field: str | None = None) -> Any:
    """`yaml.safe_load` of `text`, except that a key written twice in one mapping is refused (PyYAML keeps the
    last value silently); any problem is one InputError naming `path` / `field` (and the line of a repeat)."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except DuplicateKeyError as e:
        raise InputError(f"duplicate key {e.key!r} (first at line {e.first}); write each key once",
                         path=path, record=e.line, field=field) from None
    except AmbiguousNumberError as e:
        raise InputError(e.message, path=path, record=e.line, field=field) from None
    # ValueError: a date such as 2001-02-30; OverflowError: an escape such as "\Ue000CBAF"
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as e:
        raise InputError(f"invalid YAML: {' '.join(str(e).split())}", path=path, field=field) from None
    try:
        _check_aliases(data, path, field)
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", path=path, field=field) from None
    return data


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise InputError(not_found("config file", path), path=path)
    if path.is_dir():
        raise InputError("expected a YAML file, got a folder", path=path)
    if not path.is_file():  # a named pipe would block the read
        raise InputError("expected a YAML file, got a named pipe, a socket or a device", path=path)
    text = decode_utf8(path.read_bytes(), path)  # YAML itself would skip a UTF-8 BOM too
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
    the name the user typed for it (`names`: a CLI's field -> flag, "style_shift" -> "--style-shift"; a
    top-level key named there also renames the keys below it, "fusion.method" -> "--set fusion.method").
    A problem in a renamed key is blamed on that flag, not on the file at `path`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        top = str(err["loc"][0]) if err["loc"] else None
        if field is not None and names and (field in names or top in names):
            field, path = names.get(field) or names[top] + field[len(top):], None  # typed, not read from path
        message = err["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
        if err["type"] in ("path_type", "path_parsing"):  # "Input is not a valid path for <class ...>"
            message = f"must be a file or folder path (a string), got {json_kind(err.get('input'))}"
        raise InputError(message, path=path, field=field) from None


def json_kind(value: Any) -> str:
    """How a YAML / JSON value reads to its author: "a list", "a number", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)[:60]


def load_config(model: type[M], path: str | Path) -> M:
    return parse_config(model, load_yaml(path), path=path)
