"""Study specs: a TOML file naming a flow, its fixed config, the swept parameters, the seeds, what to
keep and the figure. Everything is validated here, before anything runs; each problem is one line
(:class:`~dyn.errors.UsageError`, exit 2).

    flow = "relu"
    seeds = 16                       # or {start = 0, count = 16}: seeds start .. start + count - 1
    [fixed]                          # config fields every point shares
    test_loss = "exact"
    [sweep]                          # one dimension of the store per parameter, in this order
    radius = [0.01, 0.05, 0.25, 1.0]            # a list
    width = {range = [4, 20, 4]}                # start, stop (excluded), step: 4, 8, 12, 16
    dim = {values = [2, 4], follow = {teacher_width = 1}}  # others follow as multiples: teacher_width = dim
    lr = {logspace = [-2, 0, 5]}                # exponents lo, hi and a count: 0.01 .. 1
    [keep]
    metrics = ["final_loss_test"]    # default: every metric the flow defines (relu: also "w2", "covered"...:
                                     # the analysis's last values, kept only when named)
    trajectories = false             # true: every variable with a time dim; or a list of names
    [[figure]]                       # panels of the figure `dyn study plot` draws (see dyn.study.plot)
    kind = "heatmap"

Data files (``data = "points.csv"``, fixed or swept) are read relative to the spec's folder, and a
path that leads outside it (``../``, an absolute path, a symlink) is refused unless the caller allows
it (``--allow-outside-data``): a spec handed over by someone else reads nothing else on the machine.
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from dyn.errors import DynError, UsageError
from dyn.flows import get_flow

SECTIONS = ("flow", "seeds", "fixed", "sweep", "keep", "figure")
OWNED = ("seed", "replicas")  # the study sets these from `seeds`
DATA_KEYS = ("data",)  # config fields that name a data file when their value ends with one of FILE_SUFFIXES
FILE_SUFFIXES = (".npy", ".csv")
VALIDATE_ALL_UP_TO = 10_000  # configs of every point are built up front up to this many points
MAX_VALUES = 1_000_000  # values of one swept parameter (a typo in a range must not fill the memory)
MAX_EXPONENT = 307  # 10**e is a normal float64 for |e| <= 307


@dataclass(frozen=True)
class Spec:
    flow: str
    fixed: dict
    sweep: dict  # name -> list of values, in the spec's order
    seeds: list
    metrics: object = "all"  # "all" or a list of names
    trajectories: object = False  # False, True or a list of names
    figures: list = field(default_factory=list)
    name: str = "study"
    follow: dict = field(default_factory=dict)  # swept name -> {field: factor}: fields set to factor x its value
    files: dict = field(default_factory=dict, compare=False)  # a data file as written -> its resolved path

    @property
    def n_points(self):
        return math.prod(self.shape[:-1])

    @property
    def dims(self):
        return list(self.sweep) + ["seed"]

    @property
    def shape(self):
        return tuple(len(v) for v in self.sweep.values()) + (len(self.seeds),)

    def points(self):
        """Index tuples of every swept point (seeds excluded), in C order."""
        return list(itertools.product(*(range(len(v)) for v in self.sweep.values())))

    def options(self, point, seed_lo, seed_hi):
        """``dyn.simulate`` options of the seeds ``seeds[seed_lo:seed_hi]`` of ``point`` (one task)."""
        values = {k: v[i] for (k, v), i in zip(self.sweep.items(), point)}
        for key, fields in self.follow.items():
            values.update({f: factor * values[key] for f, factor in fields.items()})
        options = {**self.fixed, **values, "seed": self.seeds[seed_lo], "replicas": seed_hi - seed_lo}
        for key in DATA_KEYS:
            if isinstance(options.get(key), str) and options[key] in self.files:
                options[key] = self.files[options[key]]
        return options

    def identity(self):
        """What makes two specs the same study (not the figure, workers or scheduler); the sweep's
        order is kept (it is the order of the store's dims)."""
        out = {"flow": self.flow, "fixed": self.fixed, "sweep": [[k, v] for k, v in self.sweep.items()],
               "seeds": self.seeds,
               "keep": {"metrics": self.metrics, "trajectories": self.trajectories}}
        return {**out, "follow": self.follow} if self.follow else out

    def to_json(self):
        return json.dumps({**self.identity(), "figure": self.figures, "name": self.name}, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        d = json.loads(text)
        return cls(flow=d["flow"], fixed=d["fixed"], sweep=dict(d["sweep"]), seeds=d["seeds"],
                   metrics=d["keep"]["metrics"], trajectories=d["keep"]["trajectories"],
                   figures=d.get("figure", []), name=d.get("name", "study"), follow=d.get("follow", {}))


def load_spec(path, allow_outside_data=False):
    """Read and validate the spec at ``path``; its data files are read relative to its folder, and only
    from inside it unless ``allow_outside_data``."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such spec file: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{path} is not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file") from None
    return parse_spec(data, name=path.stem, folder=path.parent, allow_outside_data=allow_outside_data)


def parse_spec(data, name="study", folder=None, allow_outside_data=True):
    """Validate the spec table ``data`` (as read from TOML) and return a :class:`Spec`. Data files are
    resolved against ``folder`` (default: the working folder) and, unless ``allow_outside_data``,
    refused when they lie outside it."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise UsageError(f"unknown spec entry {unknown[0]!r}; a spec has: {', '.join(SECTIONS)}")
    if not isinstance(data.get("flow"), str):
        raise UsageError("the spec must name its flow: flow = \"relu\"")
    flow = get_flow(data["flow"])
    names = flow.config.field_names()
    fixed = _table(data, "fixed")
    sweep_in = _table(data, "sweep")
    for section, keys in (("fixed", fixed), ("sweep", sweep_in)):
        for key in keys:
            if key in OWNED:
                raise UsageError(f"{section}.{key}: the study sets seed and replicas from `seeds`")
            if key not in names:
                raise UsageError(f"{section}.{key}: unknown parameter of flow {flow.name!r}; "
                                 f"it has: {', '.join(n for n in names if n not in OWNED)}")
    follow = {key: _follow(key, value.pop("follow"), names, fixed, sweep_in) for key, value in sweep_in.items()
              if isinstance(value, dict) and "follow" in value}
    both = sorted(set(fixed) & set(sweep_in))
    if both:
        raise UsageError(f"{both[0]!r} is both fixed and swept")
    sweep = {key: _values(key, value) for key, value in sweep_in.items()}
    spec = Spec(flow=flow.name, fixed={k: _scalar(f"fixed.{k}", v) for k, v in fixed.items()}, sweep=sweep,
                seeds=_seeds(data.get("seeds", 1)), metrics=_keep_metrics(data), trajectories=_keep_traj(data),
                figures=_figures(data, sweep), name=name, follow=follow,
                files=_data_files(fixed, sweep, Path(folder) if folder is not None else Path("."),
                                  allow_outside_data))
    _check_configs(spec, flow)
    _check_keep(spec)
    return spec


def _table(data, key):
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"[{key}] must be a table")
    return value


def _scalar(where, value):
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise UsageError(f"{where} must be a number, a string or a boolean, got {value!r}")


def _follow(key, fields, names, fixed, sweep):
    """{field: factor} of the parameters that follow swept ``key`` (``follow = {dim = 1, width = 2}``)."""
    where = f"sweep.{key}.follow"
    if not isinstance(fields, dict) or not fields:
        raise UsageError(f"{where} must be a table of parameter = factor")
    for name, factor in fields.items():
        if name not in names or name in OWNED:
            raise UsageError(f"{where}.{name}: unknown parameter")
        if name in fixed or name in sweep:
            raise UsageError(f"{where}.{name}: {name!r} is also fixed or swept")
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not math.isfinite(factor):
            raise UsageError(f"{where}.{name} must be a number, got {factor!r}")
    return {name: _scalar(where, factor) for name, factor in fields.items()}


def _values(key, value):
    """The list of values of swept parameter ``key``: a list, {range = [...]}, {logspace = [...]} or
    {values = [...]} (the form that takes ``follow``)."""
    where = f"sweep.{key}"
    if isinstance(value, dict) and set(value) == {"values"}:
        value = value["values"]
    if isinstance(value, list):
        values = [_scalar(where, v) for v in value]
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("range", "logspace"):
        kind, args = next(iter(value.items()))
        if not (isinstance(args, list) and len(args) == 3 and all(isinstance(a, numbers.Real) and not isinstance(a, bool)
                                                                  for a in args)):
            raise UsageError(f"{where}: {kind} takes three numbers, got {args!r}")
        values = _range(where, *args) if kind == "range" else _logspace(where, *args)
    else:
        raise UsageError(f"{where} must be a list, {{range = [start, stop, step]}} or {{logspace = [lo, hi, n]}}; "
                         f"got {value!r}")
    if not values:
        raise UsageError(f"{where} is empty")
    if len(set(values)) != len(values):
        raise UsageError(f"{where} repeats a value: {values}")
    kinds = {type(v) for v in values}
    if kinds == {int, float}:
        values = [float(v) for v in values]
    elif len(kinds) > 1:
        raise UsageError(f"{where} mixes types: {values}")
    return values


def _finite(where, kind, args):
    if not all(math.isfinite(a) for a in args):
        raise UsageError(f"{where}: {kind} takes finite numbers, got {list(args)}")


def _count(where, kind, n):
    if n > MAX_VALUES:
        raise UsageError(f"{where}: {kind} gives {n:.0f} values; a swept parameter takes at most {MAX_VALUES}")


def _range(where, start, stop, step):
    _finite(where, "range", (start, stop, step))
    if step == 0:
        raise UsageError(f"{where}: range step must not be 0")
    n = (stop - start) / step
    _count(where, "range", n)
    n = max(0, math.ceil(n - 1e-9))
    if all(isinstance(a, int) for a in (start, stop, step)):
        return [int(start + k * step) for k in range(n)]
    return [float(round(start + k * step, 12)) for k in range(n)]  # between start and stop: finite


def _logspace(where, lo, hi, n):
    _finite(where, "logspace", (lo, hi, n))
    if isinstance(n, float) and not n.is_integer():
        raise UsageError(f"{where}: logspace count must be an integer, got {n}")
    n = int(n)
    _count(where, "logspace", n)
    exponents = [lo] if n == 1 else [lo + (hi - lo) * k / (n - 1) for k in range(n)]
    for e in exponents:
        if not -MAX_EXPONENT <= e <= MAX_EXPONENT:
            raise UsageError(f"{where}: logspace exponents must lie in [-{MAX_EXPONENT}, {MAX_EXPONENT}] "
                             f"(10**{e:g} is not a finite float64 > 0), got {[lo, hi]}")
    return [float(10.0 ** e) for e in exponents]


def _seeds(value):
    if isinstance(value, dict):
        extra = sorted(set(value) - {"start", "count"})
        if extra:
            raise UsageError(f"seeds: unknown entry {extra[0]!r} (use start and count)")
        start, count = value.get("start", 0), value.get("count", 1)
    else:
        start, count = 0, value
    for name, v, low in (("seeds.start", start, 0), ("seeds count", count, 1)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise UsageError(f"{name} must be an integer, got {v!r}")
        if v < low:
            raise UsageError(f"{name} must be >= {low}, got {v}")
    return list(range(start, start + count))


def _keep_metrics(data):
    metrics = _table(data, "keep").get("metrics", "all")
    if metrics == "all":
        return "all"
    if not (isinstance(metrics, list) and metrics and all(isinstance(m, str) for m in metrics)):
        raise UsageError(f"keep.metrics must be \"all\" or a non-empty list of names, got {metrics!r}")
    return metrics


def _keep_traj(data):
    keep = _table(data, "keep")
    extra = sorted(set(keep) - {"metrics", "trajectories"})
    if extra:
        raise UsageError(f"keep.{extra[0]}: unknown entry (use metrics and trajectories)")
    traj = keep.get("trajectories", False)
    if isinstance(traj, bool):
        return traj
    if not (isinstance(traj, list) and traj and all(isinstance(m, str) for m in traj)):
        raise UsageError(f"keep.trajectories must be true, false or a list of variable names, got {traj!r}")
    return traj


FIGURE_KINDS = ("heatmap", "bands")
FIGURE_STATS = ("median", "mean", "min", "max")  # or a quantile in [0, 1]
FIGURE_KEYS = {"kind", "metric", "x", "y", "hue", "stat", "over", "select", "log", "quantiles", "title"}


def check_figure(fig, swept):
    """Validate one [[figure]] table against the swept parameter names; return it normalised."""
    unknown = sorted(set(fig) - FIGURE_KEYS)
    if unknown:
        raise UsageError(f"figure: unknown entry {unknown[0]!r}; it takes: {', '.join(sorted(FIGURE_KEYS))}")
    kind = fig.get("kind")
    if kind not in FIGURE_KINDS:
        raise UsageError(f"figure.kind must be one of {', '.join(FIGURE_KINDS)}; got {kind!r}")
    if not isinstance(fig.get("metric"), str):
        raise UsageError("figure.metric must name a metric, e.g. \"final_loss_test\"")
    dims = swept + ["seed"]
    roles = ["x", "y"] if kind == "heatmap" else ["x"] + (["hue"] if "hue" in fig else [])
    for role in roles:
        if fig.get(role) not in swept:
            raise UsageError(f"figure.{role} must be a swept parameter ({', '.join(swept) or 'none'}); "
                             f"got {fig.get(role)!r}")
    over = fig.get("over", ["seed"])
    select = fig.get("select", {})
    if not isinstance(over, list) or any(d not in dims for d in over):
        raise UsageError(f"figure.over must list dims among {', '.join(dims)}; got {over!r}")
    if not isinstance(select, dict) or any(d not in swept for d in select):
        raise UsageError(f"figure.select must fix swept parameters; got {select!r}")
    stat = fig.get("stat", "median")
    if not (stat in FIGURE_STATS or (isinstance(stat, float) and 0 <= stat <= 1)):
        raise UsageError(f"figure.stat must be one of {', '.join(FIGURE_STATS)} or a quantile in [0, 1]; got {stat!r}")
    q = fig.get("quantiles", [0.1, 0.25, 0.75, 0.9])
    if not (isinstance(q, list) and len(q) % 2 == 0 and all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in q)):
        raise UsageError(f"figure.quantiles must be an even number of values in [0, 1]; got {q!r}")
    return {**fig, "over": over, "select": select, "stat": stat, "quantiles": sorted(q), "log": bool(fig.get("log", True))}


def _figures(data, sweep):
    figures = data.get("figure", [])
    if isinstance(figures, dict):
        figures = [figures]
    if not isinstance(figures, list) or not all(isinstance(f, dict) for f in figures):
        raise UsageError("[figure] must be a table or an array of tables [[figure]]")
    return [check_figure(f, list(sweep)) for f in figures]


def _check_keep(spec):
    """The kept metrics and trajectories named in the spec exist: checked on the first point's run,
    built but not run (a flow whose job cannot describe itself leaves the check to the first task)."""
    if spec.metrics == "all" and not isinstance(spec.trajectories, list):
        return
    from dyn.study.keep import KeepError, check_keep

    first = (0,) * len(spec.sweep)
    try:
        check_keep(spec.flow, spec.options(first, 0, 1), spec.metrics, spec.trajectories)
    except KeepError:
        raise
    except DynError:  # the first point cannot be built: the study records it as failed, the others still run
        pass


def _data_files(fixed, sweep, folder, allow_outside):
    """{value as written: resolved path} of the data files the spec names; UsageError for a missing file
    or, unless ``allow_outside``, one outside ``folder``. Messages name paths, never file contents."""
    out = {}
    base = folder.resolve()
    for section, key, value in [("fixed", k, fixed[k]) for k in DATA_KEYS if k in fixed] + \
            [("sweep", k, v) for k in DATA_KEYS if k in sweep for v in sweep[k]]:
        if not (isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES)):
            continue
        path = (base / Path(value).expanduser()).resolve()  # an absolute value stays itself
        if not allow_outside and not path.is_relative_to(base):
            raise UsageError(f"{section}.{key} = {value!r} is outside the spec's folder {folder}: put the file "
                             f"beside the spec, or allow it with --allow-outside-data")
        if not path.is_file():
            raise UsageError(f"{section}.{key}: no such data file {value!r} (read relative to the spec's folder "
                             f"{folder})")
        out[value] = str(path)
    return out


def _check_configs(spec, flow):
    """Build the config of every point (of every value, beyond VALIDATE_ALL_UP_TO points): wrong types fail here.
    The grid is never expanded beyond that: a spec of 10^7 points is sized (dyn.study.run) before anything."""
    if spec.n_points <= VALIDATE_ALL_UP_TO:
        points = spec.points()
    else:
        first = (0,) * len(spec.sweep)
        points = [first[:i] + (j,) + first[i + 1:] for i, v in enumerate(spec.sweep.values()) for j in range(len(v))]
    n = len(spec.seeds)
    for point in points:
        options = spec.options(point, 0, n)
        try:
            flow.config.from_kwargs(**options)
        except DynError as err:
            at = ", ".join(f"{k}={options[k]!r}" for k in spec.sweep)
            raise type(err)(f"{err}" + (f" (at {at})" if at else "")) from None
