"""The PDF: a valid document whose text says what the report says (checked with an independent PDF reader)."""

from __future__ import annotations

import io
from dataclasses import replace

import pypdf

from services.reports import ReportInput, build_report, render_pdf


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_holds_the_reports_text_and_chart(report_input: ReportInput) -> None:
    report = build_report(report_input)
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == "Session report: Alma H."
    text = text_of(pdf)
    for expected in (
        "Session report: Alma H.",
        "Time in band",
        "5:55 (59 %)",
        "Banister TRIMP",
        "HRR1",
        "18 bpm",
        "Heart rate against the prescribed band",
        "Above ceiling",
        "Short of breath",
        "RPE 15",
    ):
        assert expected in text, f"{expected!r} missing from the PDF text"


def test_long_alert_lists_continue_on_further_pages(report_input: ReportInput) -> None:
    first = report_input.alerts[0]
    many = tuple(replace(first, message=f"alert number {i}: " + "ease off " * 8) for i in range(40))
    inp = replace(report_input, alerts=many)
    pdf = render_pdf(build_report(inp))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = text_of(pdf)
    assert "alert number 0:" in text and "alert number 39:" in text


def test_a_report_without_data_still_renders(report_input: ReportInput) -> None:
    inp = replace(report_input, points=(), alerts=(), rpe=(), symptoms=())
    text = text_of(render_pdf(build_report(inp)))
    assert "No heart rate recorded" in text and "No alerts during the session." in text and "Nothing entered." in text
