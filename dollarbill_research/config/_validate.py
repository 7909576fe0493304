"""Field checks and JSON I/O shared by the config classes and strategy parameters.

Errors name the class, field, value and range.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from dollarbill_research._typing import PathLike
from dollarbill_research.exceptions import ConfigError

E = TypeVar("E", bound=Enum)


def _owner(obj: object) -> str:
    return type(obj).__name__


def check_number(obj: object, field: str, value: object) -> float:
    """Return ``value`` as a finite float, or raise naming ``Class.field``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"{_owner(obj)}.{field}={value!r} must be a number; hint: use e.g. {field}=2.0"
        )
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{_owner(obj)}.{field}={value!r} must be finite")
    return number


def check_range(
    obj: object,
    field: str,
    value: object,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check ``low (<|<=) value (<|<=) high`` and return the value as float.

    Raises
    ------
    ConfigError
        ``PortfolioConfig.max_position_pct=150.0 must be in (0, 100]``.
    """
    number = check_number(obj, field, value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        hi = "inf" if math.isinf(high) else f"{high:g}"
        raise ConfigError(f"{_owner(obj)}.{field}={value!r} must be in {left}{low:g}, {hi}{right}")
    return number


def check_int(obj: object, field: str, value: object, low: int, high: int | None = None) -> int:
    """Check an integer field in ``[low, high]`` (``high=None``: unbounded) and return it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{_owner(obj)}.{field}={value!r} must be an integer")
    if value < low or (high is not None and value > high):
        hi = "inf" if high is None else str(high)
        raise ConfigError(f"{_owner(obj)}.{field}={value!r} must be in [{low}, {hi}]")
    return value


def check_bool(obj: object, field: str, value: object) -> bool:
    """A bool field (``True``/``False`` only, not 0/1)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{_owner(obj)}.{field}={value!r} must be True or False")
    return value


def check_enum(obj: object, field: str, value: object, enum: type[E]) -> E:
    """Coerce a str (the seed's spelling, e.g. ``"VolatilityBased"``) or member to ``enum``."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        for member in enum:
            if value == member.value or value.lower() == str(member.value).lower():
                return member
    allowed = ", ".join(repr(m.value) for m in enum)
    raise ConfigError(f"{_owner(obj)}.{field}={value!r} is not one of {allowed}")


def check_keys(cls: type, data: object) -> dict[str, Any]:
    """``data`` if it is a dict whose keys are all fields of the dataclass ``cls``.

    Raises
    ------
    ConfigError
        ``data`` is not a dict, or names an unknown field (all unknown keys and the known fields
        are listed).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{cls.__name__} has no field {', '.join(map(repr, unknown))}; "
            f"hint: known fields are {', '.join(sorted(known))}"
        )
    return data


def read_json(source: str | PathLike) -> object:
    """Parse JSON text (a ``str`` starting with ``{``) or the JSON file at path ``source``."""
    text = str(source)
    if isinstance(source, str) and text.lstrip().startswith("{"):
        payload = text
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; hint: pass JSON text or a path")
        payload = path.read_text()
    try:
        return json.loads(payload)
    except json.JSONDecodeError as err:
        raise ConfigError(f"config JSON is invalid at line {err.lineno}: {err.msg}") from err


def write_json(data: dict[str, Any], path: PathLike | None) -> str:
    """``data`` as indented JSON text, also written (with a final newline) to ``path`` if given."""
    text = json.dumps(data, indent=2)
    if path is not None:
        Path(path).write_text(text + "\n")
    return text
