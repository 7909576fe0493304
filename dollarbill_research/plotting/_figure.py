"""The figure class of every plot: a plain matplotlib ``Figure`` that also knows its PNG.

Our figures are never registered with pyplot (the user's backend and figure list stay as they
were), so a notebook that never imported pyplot has no figure formatter; ``_repr_png_`` lets
Jupyter show the figure inline anyway. Where IPython has a formatter for figures (the inline
backend), that formatter is used instead, with the same result.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["InlineFigure"]


class InlineFigure(Figure):
    """A :class:`matplotlib.figure.Figure` with ``_repr_png_`` (for Jupyter)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        return buf.getvalue()
