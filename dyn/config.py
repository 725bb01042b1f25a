"""Validation shared by every flow's config (frozen dataclasses that check themselves).

Each check raises :class:`~dyn.errors.UsageError` with one line naming the field, so that the CLI
and the notebook report the same message.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
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


RECORDS = ("even", "log")  # snapshot spacings of step-counted flows (dyn.engine.steps)


def resolve_record(record, record_every, default):
    """The snapshot spacing of a config: ``record`` if given, "even" when ``record_every`` is given, else
    the flow's ``default``; one line (UsageError) for a bad or contradictory choice."""
    if record is None:
        return "even" if record_every is not None else default
    if record not in RECORDS:
        raise UsageError(f"record must be one of {', '.join(RECORDS)}; got {record!r}")
    if record == "log" and record_every is not None:
        raise UsageError("record_every applies to record='even'; record='log' chooses its own snapshot steps")
    return record
def option(default, help, *, fixed=False, flags=None, show=None):
    """A config field that documents itself: the CLI's ``dyn simulate FLOW`` option is generated from it.

    ``help``: one sentence, as ``--help`` shows it; ``show``: the default as ``--help`` shows it (default:
    the value itself); ``flags``: the option's names when they are not ``--field-name`` (e.g.
    ``("--toroidal/--flat",)`` for a bool); ``fixed``: a continued run (``init=ds``/``--from``) may not
    change it.
    """
    return dataclasses.field(default=default, metadata={"help": help, "fixed": fixed, "flags": flags, "show": show})


def replicas_option():
    """``replicas``, the same in every flow: replica r is the single run with seed + r."""
    return option(1, "Independent runs with seeds seed..seed+R-1.", fixed=True)


def seed_option(help):
    """``seed``: what it seeds is the flow's to say."""
    return option(0, help, fixed=True)


def device_option():
    """``device``, the same in every flow."""
    return option("auto", "auto, cpu or cuda.")


DTYPES = ("float64", "float32")  # a run's precisions (dyn.engine.precision); here, so that configs need no numba


def dtype_option(float32=True):
    """``dtype``, the same in every flow: float64 or float32 (:mod:`dyn.engine.precision`); ``float32=False``
    for a flow whose kernels are float64 only (:func:`float64_only` checks it)."""
    if not float32:
        return option("float64", "float64 only (this flow's kernels have no float32; relu, sphere and som do).",
                      fixed=True)
    return option("float64", "float64, or float32 (float32 arithmetic and records: for speed on consumer GPUs, "
                  "half the memory).", fixed=True)


def float64_only(flow, dtype):
    """Refuse (UsageError, one line) a dtype other than float64 for ``flow``, whose kernels are float64 only."""
    choice("dtype", dtype, DTYPES)
    if dtype != "float64":
        raise UsageError(f"dtype {dtype!r} is not available for the {flow} flow (its kernels are float64 only; relu, "
                         f"sphere and som have float32)")


class Config:
    """Mixin for frozen dataclass configs: construction from keyword arguments, JSON round trip.

    Fields declared with :func:`option` carry their help, flags and whether a continuation may change them.
    """

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
    def options(cls):
        """(name, type, default, metadata) of every field: what ``dyn simulate FLOW --help`` lists."""
        hints = typing.get_type_hints(cls)
        return [(f.name, hints[f.name], f.default, dict(f.metadata)) for f in dataclasses.fields(cls)]

    @classmethod
    def fixed_fields(cls):
        """Fields a continued run must keep (declared ``option(..., fixed=True)``)."""
        return {f.name for f in dataclasses.fields(cls) if f.metadata.get("fixed")}

    def check_continuation(self, **overrides):
        """This config with ``overrides``, refused (UsageError) where one changes a fixed field. A snapshot
        spacing given for the continuation replaces the run's (``record_every`` means ``record="even"``)."""
        if "record" in self.field_names():
            if overrides.get("record_every") is not None:
                overrides.setdefault("record", "even")
            elif overrides.get("record") == "log":
                overrides["record_every"] = None
        for key, value in overrides.items():
            if key in self.fixed_fields() and value != getattr(self, key):
                raise UsageError(f"cannot change {key} when continuing a run ({getattr(self, key)!r} -> {value!r})")
        return self.replace(**overrides)

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
