"""Renders a :class:`~services.reports.model.SessionReport` as an A4 PDF with matplotlib's PDF backend.

No pyplot (global state): each page is its own :class:`~matplotlib.figure.Figure`, written by
:class:`~matplotlib.backends.backend_pdf.PdfPages`. Fonts are embedded as TrueType (``pdf.fonttype`` 42) so the
text stays searchable and copyable. matplotlib's settings are process-global, so rendering holds a lock.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
from collections.abc import Sequence
from typing import Final

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from services.reports.model import SessionReport

A4_IN: Final = (8.27, 11.69)
LEFT: Final = 0.07
RIGHT: Final = 0.95
TOP: Final = 0.95
BOTTOM: Final = 0.06
PT_PER_IN: Final = 72.0
INK: Final = "#1f2328"
MUTED: Final = "#57606a"
HR_COLOUR: Final = "#0a3069"
BAND_COLOUR: Final = "#1a7f37"
CEILING_COLOUR: Final = "#cf222e"
_LOCK = threading.Lock()


class _Pages:
    """A cursor that writes lines down A4 pages and starts a new page when one is full."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self.pdf = pdf
        self.footer = footer
        self.page = 0
        self.fig: Figure | None = None
        self.y = TOP

    def new_page(self) -> Figure:
        self.finish()
        self.page += 1
        self.fig = Figure(figsize=A4_IN)
        self.fig.text(LEFT, 0.03, f"{self.footer} · page {self.page}", fontsize=7, color=MUTED)
        self.y = TOP
        return self.fig

    def finish(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)  # type: ignore[no-untyped-call]  # matplotlib leaves it unannotated
            self.fig = None

    def room(self, height: float) -> Figure:
        if self.fig is None or self.y - height < BOTTOM:
            return self.new_page()
        return self.fig

    def text(self, s: str, *, size: float = 9.0, weight: str = "normal", color: str = INK, x: float = LEFT) -> None:
        height = size * 1.45 / PT_PER_IN / A4_IN[1]
        fig = self.room(height)
        fig.text(x, self.y - height, s, fontsize=size, fontweight=weight, color=color, va="bottom")
        self.y -= height

    def gap(self, inches: float) -> None:
        self.y -= inches / A4_IN[1]

    def row(
        self,
        cells: Sequence[str],
        xs: Sequence[float],
        widths: Sequence[int],
        *,
        size: float = 8.5,
        weight: str = "normal",
        color: str = INK,
    ) -> None:
        """One table row; each cell wraps to its width in characters and the row is as tall as its tallest cell."""
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
        lines = max(len(w) for w in wrapped)
        line_h = size * 1.35 / PT_PER_IN / A4_IN[1]
        fig = self.room(lines * line_h + 0.004)
        for x, cell in zip(xs, wrapped, strict=True):
            fig.text(
                x,
                self.y - line_h,
                "\n".join(cell),
                fontsize=size,
                fontweight=weight,
                color=color,
                va="top",
                linespacing=1.25,
            )
        self.y -= lines * line_h + 0.004


def _segments(minutes: Sequence[float], values: Sequence[float | None]) -> tuple[list[float], list[float]]:
    """Points for a line with gaps: None becomes NaN, which matplotlib leaves undrawn."""
    return list(minutes), [math.nan if v is None else v for v in values]


def _chart(pages: _Pages, r: SessionReport) -> None:
    height_in = 3.1
    fig = pages.room(height_in / A4_IN[1] + 0.02)
    bottom = pages.y - height_in / A4_IN[1]
    ax = fig.add_axes((LEFT + 0.05, bottom + 0.035, RIGHT - LEFT - 0.06, height_in / A4_IN[1] - 0.05))
    x, hr = _segments(r.minutes, r.hr_bpm)
    _, lo = _segments(r.minutes, r.band_low_bpm)
    _, hi = _segments(r.minutes, r.band_high_bpm)
    if x:
        ax.fill_between(x, lo, hi, color=BAND_COLOUR, alpha=0.18, linewidth=0, label="Prescribed band")
        ax.plot(x, lo, color=BAND_COLOUR, linewidth=0.8)
        ax.plot(x, hi, color=BAND_COLOUR, linewidth=0.8)
        ax.plot(x, hr, color=HR_COLOUR, linewidth=1.2, label="Heart rate")
    if r.ceiling_bpm is not None:
        ax.axhline(r.ceiling_bpm, color=CEILING_COLOUR, linestyle="--", linewidth=1.0, label="Ceiling")
    ax.set_xlabel("minutes from the start", fontsize=8, color=MUTED)
    ax.set_ylabel("bpm", fontsize=8, color=MUTED)
    ax.tick_params(labelsize=7, colors=MUTED)
    ax.grid(True, color="#d0d7de", linewidth=0.5)
    drawn = [v for v in (*hr, *lo, *hi, r.ceiling_bpm) if v is not None and math.isfinite(v)]
    if drawn:
        ax.set_ylim(min(drawn) - 12, max(drawn) + 12)
    if not x:
        ax.text(0.5, 0.5, "No heart rate recorded", transform=ax.transAxes, ha="center", color=MUTED)
    else:
        ax.legend(fontsize=7, loc="lower right", frameon=True, framealpha=0.85, ncols=3)
    pages.y = bottom


def _render(r: SessionReport) -> bytes:
    buf = io.BytesIO()
    metadata = {"Title": r.title, "Subject": r.subtitle, "Creator": "cardiorehab", "Author": "cardiorehab"}
    with PdfPages(buf, metadata=metadata) as pdf:
        pages = _Pages(pdf, r.footer)
        pages.new_page()
        pages.text(r.title, size=16, weight="bold")
        pages.gap(0.05)
        for line in textwrap.wrap(r.subtitle, 110):
            pages.text(line, size=8.5, color=MUTED)
        if r.prescription:
            pages.text(r.prescription, size=9)
        if r.provisional_note:
            pages.text(r.provisional_note, size=8.5, color="#9a6700", weight="bold")
        pages.gap(0.12)
        pages.text("Summary", size=11.5, weight="bold")
        for fact in r.facts:
            pages.row([fact.label, fact.value], [LEFT, LEFT + 0.36], [48, 60], size=9)
        pages.gap(0.12)
        pages.text("Heart rate against the prescribed band", size=11.5, weight="bold")
        _chart(pages, r)
        pages.gap(0.1)
        pages.text("Alerts", size=11.5, weight="bold")
        alert_x, alert_w = [LEFT, LEFT + 0.1, LEFT + 0.2, LEFT + 0.6, LEFT + 0.78], [10, 12, 58, 26, 12]
        if r.alert_rows:
            header = ["Raised", "Tier", "Alert", "Acknowledged", "Cleared"]
            pages.row(header, alert_x, alert_w, weight="bold", color=MUTED)
            for alert in r.alert_rows:
                pages.row(list(alert), alert_x, alert_w)
        else:
            pages.text("No alerts during the session.", size=9)
        pages.gap(0.1)
        pages.text("Exertion (RPE) and symptoms", size=11.5, weight="bold")
        entry_x, entry_w = [LEFT, LEFT + 0.12, LEFT + 0.6], [12, 70, 40]
        if r.entry_rows:
            pages.row(["When", "Entry", "Detail"], entry_x, entry_w, weight="bold", color=MUTED)
            for entry in r.entry_rows:
                pages.row(list(entry), entry_x, entry_w)
        else:
            pages.text("Nothing entered.", size=9)
        pages.finish()
    return buf.getvalue()


def render_pdf(report: SessionReport) -> bytes:
    """The report as PDF bytes (CPU-bound, tens of milliseconds: call it off the event loop)."""
    with _LOCK, matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans", "axes.edgecolor": MUTED}):
        return _render(report)
