"""Default-minimum modes of the fusion: names, parsing and the defaults by normalisation.

Kept apart from `kvqae.fusion.core` (numpy) so config models (`kvqae fuse fit`, pipeline YAML, the answering
bundle) can use them without importing the numeric code. Rules in `kvqae.fusion.core`'s docstring.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator

from kvqae.errors import InputError

DefaultMinimum = Literal["off", "raw", "normalized"]
DEFAULT_MINIMUM_MODES: tuple[str, ...] = ("off", "raw", "normalized")


def parse_default_minimum(value: object) -> DefaultMinimum | None:
    """A default-minimum setting as a mode name: None stays None (= the default of the norm), `True` is
    "normalized" (its meaning in weights and bundle files written before the modes), `False` is "off".
    Anything else must be a mode name (InputError)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "normalized" if value else "off"
    if isinstance(value, str) and value.strip().lower() in DEFAULT_MINIMUM_MODES:
        return value.strip().lower()  # type: ignore[return-value]
    modes = ", ".join(DEFAULT_MINIMUM_MODES)
    raise InputError(
        f"must be one of {modes} (or true = normalized, false = off), got {value!r}", field="default_minimum"
    )


def _default_minimum_field(value: object) -> object:
    """Pydantic pre-validator: booleans of older files become mode names; other values are left to the
    Literal check (so a bad name is a normal validation error)."""
    if isinstance(value, bool):
        return parse_default_minimum(value)
    return value.strip().lower() if isinstance(value, str) else value


# A config/file field: "off" | "raw" | "normalized" | None (the norm's default); true/false are read as
# "normalized"/"off".
DefaultMinimumSetting = Annotated[DefaultMinimum | None, BeforeValidator(_default_minimum_field)]


def resolve_default_minimum(norm: str, default_minimum: object = None) -> DefaultMinimum:
    """The mode in force: the given one (see `parse_default_minimum`), else "raw" for the z-score
    normalisations (the seeds' code) and "off" for the others (ranx)."""
    mode = parse_default_minimum(default_minimum)
    if mode is not None:
        return mode
    return "raw" if norm.startswith("zscore") else "off"
