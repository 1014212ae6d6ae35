"""Simulated Polar H10 ECG: frame layout and clocks, and R peaks where the true beats are."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ingest import const
from ingest.gatt import PmdMeasurementType, parse_pmd_frame
from ingest.simulator import BEAT_ECTOPIC, BEAT_NORMAL
from ingest.simulator.ecg import beat_templates_uv

if TYPE_CHECKING:
    from conftest import Run

NS = 1_000_000_000
FS = 130


def test_frames_carry_73_samples_and_the_time_of_the_last_one(run: Run) -> None:
    name = "irregular_rhythm"
    notes = run.of(name, "pmd_ecg")
    frames = [parse_pmd_frame(n.payload) for n in notes]
    assert all(f.measurement_type is PmdMeasurementType.ECG and len(f.samples) == 73 for f in frames)
    stamps = np.array([f.timestamp_ns for f in frames], dtype=np.int64)
    step = np.diff(stamps)
    assert np.all(np.abs(step - 73 * NS / FS) <= 1)  # 73 samples at 130 Hz, to the nanosecond
    # device clock = H10 reset origin + local time of the last sample; the notification is due at that time
    start = run.truth(name).start_ns
    for note, frame in zip(notes[:50], frames[:50], strict=True):
        assert frame.timestamp_ns - const.H10_CLOCK_RESET_POLAR_NS == note.time_ns - start
    first_last_sample = frames[0].timestamp_ns - const.H10_CLOCK_RESET_POLAR_NS
    assert first_last_sample == 72 * NS // FS
    assert all(abs(v) <= 20_000 for f in frames for v in f.samples)  # H10 dynamic range


def test_r_peaks_sit_on_the_true_beats(run: Run) -> None:
    name = "irregular_rhythm"
    ecg = np.concatenate([parse_pmd_frame(n.payload).samples for n in run.of(name, "pmd_ecg")])
    truth = run.truth(name)
    t, labels = truth.beat_times_s, truth.beat_labels
    normal = (labels == BEAT_NORMAL) & (t > 330) & (t < 880)  # sinus stretch between the AF episodes
    centres = np.rint(t[normal] * FS).astype(int)
    amplitude = run.fleet.parameters(run.index(name)).ecg_amplitude_scale
    assert np.all(ecg[centres] > 600 * amplitude)
    local_max = [int(np.argmax(ecg[c - 3 : c + 4])) - 3 for c in centres]
    assert np.mean(np.abs(local_max) <= 1) > 0.95
    between = np.rint((t[normal][:-1] + 0.5 * np.diff(t[normal])) * FS).astype(int)
    assert np.median(np.abs(ecg[between])) < 200  # baseline between beats


def test_templates_differ_by_beat_type() -> None:
    offsets, rows = beat_templates_uv()
    zero = int(np.flatnonzero(offsets == 0)[0])
    p_wave = int(np.flatnonzero(offsets == -26)[0])  # -0.2 s at 130 Hz
    assert rows[BEAT_NORMAL, zero] > 1000
    assert rows[BEAT_NORMAL, p_wave] > 100
    assert abs(rows[BEAT_ECTOPIC, p_wave]) < 10
    width = lambda row: int(np.sum(row > 0.5 * row.max()))  # noqa: E731
    assert width(rows[BEAT_ECTOPIC]) > width(rows[BEAT_NORMAL])  # wide QRS
