"""Draw a session report (I/O side): HR with zone bands and phases, RR tachogram, flagged rhythm windows."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from analytics.physiology import Phase, SessionReport

_PHASE_COLOURS = {
    Phase.REST: "#e8f1fb",
    Phase.WARM_UP: "#fff4e0",
    Phase.EXERCISE: "#fde2e2",
    Phase.COOL_DOWN: "#eef7e8",
    Phase.RECOVERY: "#eaf7f5",
}


def plot_session(report: SessionReport, out: Path) -> None:
    """Write a two-panel PNG of the session to ``out``."""
    p = report.prescription
    hr = report.hr_bpm
    t_min = np.arange(hr.size) / 60.0
    fig, (ax_hr, ax_rr) = plt.subplots(2, 1, figsize=(12, 7), sharex=True, constrained_layout=True)
    phases = report.phases.phases
    start = 0
    for i in range(1, phases.size + 1):
        if i == phases.size or phases[i] != phases[start]:
            colour = _PHASE_COLOURS.get(Phase(int(phases[start])))
            if colour:
                ax_hr.axvspan(start / 60.0, i / 60.0, color=colour, lw=0)
            start = i
    ax_hr.axhspan(p.target_low_bpm, p.target_high_bpm, color="#4caf50", alpha=0.25, label="prescribed band")
    ax_hr.axhline(p.ceiling_bpm, color="#c62828", ls="--", lw=1, label="ceiling")
    ax_hr.axhline(p.rest_hr_bpm, color="#607d8b", ls=":", lw=1, label="resting HR")
    ax_hr.plot(t_min, hr, color="#1a237e", lw=1, label="HR (1 Hz)")
    title = "beta-blocked: RPE primary, band informational" if p.beta_blocked else "HR and prescribed band"
    if p.flags:
        title += "  [flags: " + ", ".join(f.value for f in p.flags) + "]"
    ax_hr.set_title(title, fontsize=9)
    ax_hr.set_ylabel("bpm")
    ax_hr.legend(loc="upper right", fontsize=8)
    raw = report.correction.raw_rr_ms
    nn = report.correction.rr_ms
    ax_rr.plot(np.cumsum(raw) / 60000.0, raw, ".", ms=2, color="#9e9e9e", label="raw RR")
    ax_rr.plot(np.cumsum(nn) / 60000.0, nn, "-", lw=0.8, color="#283593", label="corrected RR")
    for k, ep in enumerate(report.rhythm.episodes):
        ax_rr.axvspan(
            ep.start_s / 60.0,
            ep.end_s / 60.0,
            color="#ff9800",
            alpha=0.3,
            label="irregular rhythm, record an ECG" if k == 0 else None,
        )
        ax_hr.axvspan(ep.start_s / 60.0, ep.end_s / 60.0, color="#ff9800", alpha=0.2)
    ax_rr.set_ylabel("RR (ms)")
    ax_rr.set_xlabel("time (min)")
    ax_rr.legend(loc="upper right", fontsize=8)
    fig.savefig(out, dpi=100)
    plt.close(fig)
