"""`cardiorehab analyze FILE`: parsing, the JSON report, errors naming the line, and the plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from services.cli import analyze

HRV_KEYS = {"mean_nn_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "mean_hr_bpm"}


def _rr(n: int = 900, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.85
    return 850 + 35 * np.sin(2 * np.pi * t / 4) + rng.normal(0, 5, n)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict | None, str]:
    code = analyze.main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_csv_one_value_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "rr.csv"
    f.write_text("\n".join(f"{v:.1f}" for v in _rr()) + "\n")
    code, out, err = _run(capsys, str(f))
    assert code == 0 and err == ""
    assert {"hrv", "artefacts", "load", "zones", "recovery", "rhythm"} <= out.keys()
    assert out["hrv"].keys() >= HRV_KEYS and out["hrv"]["rmssd_ms"] > 0
    assert out["input"]["kind"] == "rr_csv" and out["input"]["n_rr"] == 900
    assert "fallback_band_rhr_plus_20_30" in out["prescription"]["flags"]


def test_csv_with_rr_ms_column_and_prescription(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "rr.csv"
    rows = [f"{i},{v:.1f},x" for i, v in enumerate(_rr())]
    f.write_text("# exported\nidx,rr_ms,note\n" + "\n".join(rows) + "\n")
    code, out, _ = _run(capsys, str(f), "--rest-hr", "60", "--peak-hr", "150", "--sex", "female", "--rpe", "3")
    assert code == 0
    assert out["prescription"]["method"] == "karvonen" and out["prescription"]["target_low_bpm"] == 96.0
    assert out["load"]["banister_trimp"] is not None and out["load"]["session_rpe_au"] > 0


def test_session_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rr = _rr(700).tolist()
    lines, t, k = [], 0.0, 0
    t0_ns = 1_700_000_000_000_000_000
    while k < len(rr):
        beats = []
        while k < len(rr) and t + rr[k] / 1000 < len(lines) + 1:
            t += rr[k] / 1000
            beats.append(round(rr[k], 1))
            k += 1
        lines.append(
            {
                "gateway_time_ns": t0_ns + len(lines) * 1_000_000_000,
                "hr_bpm": 70.0,
                "rr_ms": beats,
                "sensor_contact": True,
            }
        )
    f = tmp_path / "session.jsonl"
    f.write_text("\n".join(json.dumps(m) for m in lines) + "\n")
    code, out, _ = _run(capsys, str(f), "--no-correction")
    assert code == 0 and out["input"]["kind"] == "session_jsonl" and not out["input"]["hr_from_rr"]
    assert out["input"]["artefact_correction"] is False and out["artefacts"]["total"] == 0
    assert out["zones"]["valid_s"] == pytest.approx(len(lines), abs=1)


def test_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "rr.csv"
    f.write_text("\n".join(f"{v:.1f}" for v in _rr()) + "\n")
    png = tmp_path / "out.png"
    code, out, _ = _run(capsys, str(f), "--plot", str(png))
    assert code == 0 and out["input"]["plot"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("800\n810\nabc\n", "line 3"),
        ("800\n-5\n", "line 2"),
        ("rr_ms,x\n800,1\n,2\n", "line 3"),
        ('{"rr_ms": [800]}\n{"rr_ms": [800, "a"]}\n', "line 2"),
        ('{"rr_ms": [800]}\nnot json\n', "line 2"),
        ('{"hr_bpm": 80}\n', "line 1"),
        ('{"rr_ms": [800], "gateway_time_ns": 5}\n{"rr_ms": [800], "gateway_time_ns": 1}\n', "line 2"),
        ("", "no data"),
        ("hello,world\n", "line 1"),
    ],
)
def test_bad_files_exit_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    f = tmp_path / "bad.txt"
    f.write_text(content)
    code, _, err = _run(capsys, str(f))
    assert code == 2
    assert needle in err and err.startswith("cardiorehab analyze: error:")


def test_missing_file_and_bad_prescription_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv" in err
    f = tmp_path / "rr.csv"
    f.write_text("\n".join(f"{v:.1f}" for v in _rr()) + "\n")
    code, _, err = _run(capsys, str(f), "--rest-hr", "60", "--peak-hr", "150", "--method", "threshold")
    assert code == 2 and "--vt1-hr" in err
    code, _, err = _run(capsys, str(f), "--peak-hr", "150")
    assert code == 2 and "--rest-hr" in err
    code, _, err = _run(capsys, str(f), "--rest-hr", "60", "--peak-hr", "50")
    assert code == 2 and "peak HR" in err


def test_add_parser_registers_the_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="cardiorehab")
    analyze.add_parser(parser.add_subparsers(dest="command", required=True))
    f = tmp_path / "rr.csv"
    f.write_text("\n".join(f"{v:.1f}" for v in _rr(300)) + "\n")
    args = parser.parse_args(["analyze", str(f), "--method", "bpm", "--rest-hr", "60", "--low", "90", "--high", "100"])
    assert args.func is analyze.run
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prescription"]["method"] == "bpm" and out["prescription"]["ceiling_bpm"] == 110.0
