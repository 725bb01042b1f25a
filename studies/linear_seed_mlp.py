"""Seed 003's second MLP with its own gradient beside the correct one: data/linear_seed.png.

    python studies/linear_seed_mlp.py [OUTPUT.png]

Top row: the seed's run (2-5-5-1, its blobs, squared loss, lr 0.001, 100,000 steps, one sample a step):
the loss over all data for 8 seeds, each run twice with the same initial weights and sample order,
``gradient="seed"`` (its broadcast hidden-layer update) and ``gradient="exact"``, then both final
boundaries of seed 0. Bottom row: the same network on scikit-learn's circles, where the difference shows.
"""

from __future__ import annotations

import sys

import numpy as np


def main(output="data/linear_seed.png"):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import dyn
    from dyn.flows.linear.picture import COLORS, banded, faint_colors
    from dyn.render.animate import picture_of

    rows = (("the seed's blobs", dict(as_seed="mlp")),
            ("circles", dict(as_seed="mlp", data="circles")))
    fig = Figure(figsize=(15, 9.5))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3)
    for (name, options), ax in zip(rows, axes):
        runs = {g: dyn.simulate("linear", gradient=g, replicas=8, **options) for g in ("seed", "exact")}
        for g, color in (("seed", "tab:red"), ("exact", "tab:blue")):
            ds = runs[g]
            step, loss = ds.step.values, ds["loss"].transpose("time", "replica").values
            ax[0].plot(step, loss, color=color, lw=0.7, alpha=0.5)
            ax[0].plot(step, np.median(loss, 1), color=color, lw=2.0,
                       label=f"{g}: median final loss {np.median(loss[-1]):.3g}, accuracy "
                             f"{float(ds.accuracy[-1].median()):.4f}")
        ax[0].set_yscale("log")
        ax[0].set_xlabel("step")
        ax[0].set_ylabel("squared loss, mean over all data")
        ax[0].set_title(f"{name}: 2-5-5-1, 8 seeds, the same init and order for both", fontsize=9)
        ax[0].legend(fontsize=8)
        for g, a in (("seed", ax[1]), ("exact", ax[2])):
            pic = picture_of(runs[g], replica=0)
            last = pic.times[-1]
            a.imshow(banded(pic.field.values(pic.theta[last]), pic.vmax, faint_colors()), origin="lower",
                     extent=(*pic.xlim, *pic.ylim), interpolation="nearest", aspect="auto")
            a.plot(*pic.field.contour(), color="k", lw=1.3)
            for c in (-1, 1):
                sel = pic.t == c
                a.plot(*pic.xy[sel].T, ls="none", marker="o", ms=1.8, mew=0, color=COLORS[c])
            a.set_xlim(*pic.xlim)
            a.set_ylim(*pic.ylim)
            a.set_aspect("equal", adjustable="box")
            a.set_title(f"gradient={g!r}, seed 0: " + pic.title(last).replace("   ", ", "), fontsize=8)
    fig.tight_layout()
    fig.savefig(output, dpi=60)
    print(f"wrote {output}")


if __name__ == "__main__":
    main(*sys.argv[1:])
