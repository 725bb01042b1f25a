"""The figure and the table of Safran & Shamir's question: how often does gradient descent on the population
loss end in a certified spurious minimum, against k, for m = k (relu-spurious.toml), m = 2k
(relu-spurious-2k.toml) and m = 4k (relu-spurious-4k.toml) student neurons?

    python studies/relu_spurious_figure.py relu-spurious.zarr relu-spurious-2k.zarr relu-spurious-4k.zarr \
        -o data/relu-spurious.png

Prints, per store and k, the count of each certificate label, the spurious fraction with its binomial standard
error and its 95% Wilson interval; draws the fractions with the Wilson intervals (which stay informative at 0
and 1, where the standard error is 0) and each point's count.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import xarray as xr

LABELS = ("spurious", "global", "saddle", "not_converged")


def wilson(hits, n, z=1.96):
    """The 95% Wilson score interval of a binomial fraction."""
    if n == 0:
        return np.nan, np.nan
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def standard_error(p, n):
    """The binomial standard error of a fraction p of n runs."""
    return float(np.sqrt(p * (1 - p) / n)) if n else np.nan


def table(store):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a store written before dyn consolidated its metadata
        ds = xr.open_zarr(store)
    rows = []
    for k in ds.teacher_width.values:
        cell = ds.sel(teacher_width=k)
        done = np.isfinite(cell["spurious"].values)
        n = int(done.sum())
        counts = {name: int(np.nansum(cell[name].values)) for name in LABELS}
        rows.append((int(k), n, counts, wilson(counts["spurious"], n)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="+",
                        help="zarr stores of relu-spurious.toml (m = k), relu-spurious-2k.toml, relu-spurious-4k.toml")
    parser.add_argument("-o", "--output", default="relu-spurious.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    shift = 0.45  # the series side by side at each k, so that their intervals do not hide each other
    every_k = set()
    for i, (store, marker) in enumerate(zip(args.stores, "os^Dv")):
        rows = table(store)
        every_k.update(r[0] for r in rows)
        ratio = _ratio(store)
        label = f"m = {ratio}k" if ratio != 1 else "m = k"
        print(f"{store} ({label}):")
        for k, n, counts, (lo, hi) in rows:
            parts = ", ".join(f"{name} {counts[name]}" for name in LABELS)
            p = counts["spurious"] / max(n, 1)
            print(f"  k = {k:2d}: {n} runs: {parts}; spurious fraction {p:.2f} +- {standard_error(p, n):.2f} "
                  f"[95%: {lo:.2f}, {hi:.2f}]")
        ks = np.array([r[0] for r in rows]) + (i - (len(args.stores) - 1) / 2) * shift
        frac = np.array([r[2]["spurious"] / max(r[1], 1) for r in rows])
        lo = np.array([r[3][0] for r in rows])
        hi = np.array([r[3][1] for r in rows])
        seeds = sorted({r[1] for r in rows})
        seeds = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
        bars = ax.errorbar(ks, frac, yerr=[frac - lo, hi - frac], marker=marker, capsize=3,
                           label=f"{label} ({seeds} seeds per k)")
        for x, (k, n, counts, (_, top)) in zip(ks, rows):
            ax.annotate(f"{counts['spurious']}/{n}", (x, top), xytext=(0, 3), textcoords="offset points",
                        rotation=90, ha="center", va="bottom", fontsize=7, color=bars[0].get_color())
    ax.set_xlabel("k = n (teacher neurons = input dimension)")
    ax.set_ylabel("fraction ending in a spurious minimum")
    ax.set_ylim(-0.03, 1.18)
    ax.set_xticks(sorted(every_k))
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_title("Safran & Shamir's setting: GD on the exact population loss\n"
                 "(certified: gradient < 1e-7, Hessian PSD, loss > 1e-6; 95% Wilson intervals, spurious/runs)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


def _ratio(store):
    """m / k of the study in ``store`` (its spec's follow factor of width)."""
    from dyn.study.store import stored_spec

    return stored_spec(store).follow.get("teacher_width", {}).get("width", 1)


if __name__ == "__main__":
    main()
