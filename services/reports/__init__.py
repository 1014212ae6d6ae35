"""Session reports: pure building (:mod:`.build`) from plain inputs (:mod:`.model`), and PDF rendering (:mod:`.pdf`).

The API route (``services/api/routes/reports.py``) reads the stored session, features, alerts and entries, builds a
:class:`SessionReport` and renders it; nothing here does I/O.
"""

from services.reports.build import build_report, session_figures
from services.reports.model import (
    AlertEntry,
    Fact,
    PrescriptionFacts,
    ReportInput,
    RpeEntry,
    SeriesPoint,
    SessionFacts,
    SessionFigures,
    SessionReport,
    SymptomEntry,
)
from services.reports.pdf import render_pdf

__all__ = [
    "AlertEntry",
    "Fact",
    "PrescriptionFacts",
    "ReportInput",
    "RpeEntry",
    "SeriesPoint",
    "SessionFacts",
    "SessionFigures",
    "SessionReport",
    "SymptomEntry",
    "build_report",
    "render_pdf",
    "session_figures",
]
