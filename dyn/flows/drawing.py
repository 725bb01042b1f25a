"""Drawing helpers the flows' pictures and ``dyn plot`` panels share (matplotlib Axes in, nothing imported).

Here rather than in dyn.render: render imports the flows, so the flows may not import it.
"""

from __future__ import annotations


def one_replica(ds, replica=0):
    """Replica ``replica`` of an ensemble run (a Dataset or DataArray), or ``ds`` itself when it has none."""
    return ds.isel(replica=replica) if "replica" in ds.dims else ds


def second_axis(ax, x, y, ylabel, *, coloured=True, legend=None, **style):
    """A curve with a y axis of its own on ``ax``'s panel (``ax.twinx()``, returned): ``style`` as for
    ``plot``, its axis label in the curve's colour when ``coloured``; ``legend``: where one legend names the
    curves of both axes (None: no legend)."""
    twin = ax.twinx()
    twin.plot(x, y, **style)
    twin.set_ylabel(ylabel, **({"color": style["color"]} if coloured and "color" in style else {}))
    if legend is not None:
        ax.legend(handles=ax.lines + twin.lines, loc=legend, fontsize=8)
    return twin
