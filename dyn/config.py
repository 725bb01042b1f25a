"""Validation shared by every flow's config (frozen dataclasses that check themselves).

Each check raises :class:`~dyn.errors.UsageError` with one line naming the field, so that the CLI
and the notebook report the same message.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers

from dyn.errors import RunError, UsageError


INT64_MAX = 2**63 - 1  # every count and seed goes into numpy/numba int64 arrays


def integer(name, value, minimum=None, maximum=INT64_MAX):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise UsageError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise UsageError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise UsageError(f"{name} must be at most {maximum:,}, got {value:,}")
    return value


def check_seeds(seed, replicas):
    """Replica r runs with seed + r, stored as an int64 coordinate: the last seed must fit."""
    if seed + replicas - 1 > INT64_MAX:
        raise UsageError(f"seed + replicas - 1 must be at most {INT64_MAX:,} (replica r runs with seed + r, an "
                         f"int64), got {seed:,} + {replicas:,} - 1")


def real(name, value, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise UsageError(f"{name} must be finite, got {value}")
    if positive and not value > 0:
        raise UsageError(f"{name} must be > 0, got {value}")
    return value


def choice(name, value, choices):
    if value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


class Config:
    """Mixin for frozen dataclass configs: construction from keyword arguments, JSON round trip."""

    def __post_init__(self):
        self.validate()
        if isinstance(getattr(self, "seed", None), int) and isinstance(getattr(self, "replicas", None), int):
            check_seeds(self.seed, self.replicas)

    def validate(self):  # pragma: no cover - overridden
        pass

    def _set(self, **fields):
        """Store normalised values from ``validate`` on the frozen instance."""
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    @classmethod
    def field_names(cls):
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_kwargs(cls, **kwargs):
        names = cls.field_names()
        for key in kwargs:
            if key not in names:
                near = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise UsageError(f"unknown option {key!r} for flow {cls.flow}{hint}")
        return cls(**kwargs)

    def replace(self, **changes):
        return type(self).from_kwargs(**{**self.to_dict(), **changes})

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text):
        """The config stored in a run's attrs; a damaged one is corrupt file content (RunError)."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return cls(**{k: v for k, v in data.items() if k in cls.field_names()})
        except (TypeError, ValueError) as err:  # UsageError is a ValueError: a stored value that fails validation
            raise RunError(f"the run's stored config is damaged: {err}") from None
