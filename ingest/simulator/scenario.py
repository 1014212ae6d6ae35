"""Scenarios: what one simulated patient does in a session, loaded from JSON or TOML files.

A scenario file (``ingest/simulator/scenarios/<name>.json``)::

    {
      "format": "cardiorehab.scenario/1",
      "name": "rehab_session",
      "description": "why this scenario exists and what a test or demo should see",
      "patient": {"resting_hr_bpm": 70, "peak_hr_bpm": 150, "beta_blocker": false, "hrr1_bpm": 20,
                  "ectopy_per_min": 0.5, "rsa_amplitude_ms": 20, "rr_noise_ms": 12,
                  "hr_on_tau_s": 40, "hr_off_tau_s": 60, "weight_kg": 80, "peak_mets": 6},
      "variation": {"resting_hr_bpm": 0, "peak_hr_bpm": 0, "hrr1_bpm": 0},
      "strap": {"kind": "hrs", "contact_supported": true, "hr_uint16": false, "energy_expended": true,
                "battery_start_pct": 90, "battery_drain_pct_per_h": 2},
      "phases": [
        {"name": "rest", "kind": "rest", "duration_s": 180, "intensity": 0.0},
        {"name": "warm_up", "kind": "warm_up", "duration_s": 300, "intensity": 0.2, "end_intensity": 0.5},
        {"repeat": 4, "phases": [
          {"name": "work", "kind": "interval_work", "duration_s": 120, "intensity": 0.7},
          {"name": "easy", "kind": "interval_recovery", "duration_s": 60, "intensity": 0.4}]},
        {"name": "recovery", "kind": "recovery", "duration_s": 300, "intensity": 0.05}
      ],
      "episodes": {
        "irregular_rhythm": [{"start_s": 600, "duration_s": 120}],
        "motion_artefact": [{"start_s": 700, "duration_s": 60, "artefacts_per_min": 6}],
        "contact_loss": [{"start_s": 900, "duration_s": 20}],
        "dropout": [{"start_s": 1000, "duration_s": 30}]
      },
      "prescription": {"ceiling_hr_bpm": 130}
    }

``intensity`` is the fraction of the heart-rate reserve (0 = resting HR, 1 = peak HR) the phase drives
towards; ``end_intensity`` makes a linear ramp. ``variation`` gives between-patient SDs used when a fleet
draws patients. ``prescription`` is informational (tests and demos read the ceiling); the simulator never
enforces it. Times are whole seconds from the session start. TOML files with the same keys are accepted. A mix
file (``"format": "cardiorehab.scenario-mix/1"``) lists ``{"scenario": name, "weight": n}`` entries.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast, get_args

from ingest.simulator import const
from ingest.simulator.errors import ScenarioError

PhaseKind = Literal["rest", "warm_up", "exercise", "interval_work", "interval_recovery", "cool_down", "recovery"]
StrapKind = Literal["hrs", "polar_h10"]
PHASE_KINDS: tuple[PhaseKind, ...] = get_args(PhaseKind)
STRAP_KINDS: tuple[StrapKind, ...] = get_args(StrapKind)

SCENARIO_DIR = Path(__file__).parent / "scenarios"
SCENARIO_FORMAT = "cardiorehab.scenario/1"
MIX_FORMAT = "cardiorehab.scenario-mix/1"
_MAX_INTENSITY = 1.2  # a little above peak lets a scenario push HR past the measured peak on purpose


@dataclass(frozen=True, slots=True)
class Phase:
    """One block of the session; the target intensity ramps from ``intensity`` to ``end_intensity``."""

    name: str
    kind: PhaseKind
    duration_s: int
    intensity: float
    end_intensity: float


@dataclass(frozen=True, slots=True)
class Episode:
    """A time window of the session, in whole seconds from its start."""

    start_s: int
    duration_s: int

    @property
    def end_s(self) -> int:
        return self.start_s + self.duration_s

    def contains(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclass(frozen=True, slots=True)
class ArtefactEpisode:
    """A motion-artefact window: the strap misses or adds beats at ``artefacts_per_min``."""

    start_s: int
    duration_s: int
    artefacts_per_min: float

    @property
    def end_s(self) -> int:
        return self.start_s + self.duration_s

    def contains(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclass(frozen=True, slots=True)
class PatientProfile:
    resting_hr_bpm: float
    peak_hr_bpm: float
    beta_blocker: bool
    hrr1_bpm: float
    ectopy_per_min: float
    rsa_amplitude_ms: float = const.DEFAULT_RSA_AMPLITUDE_MS
    rr_noise_ms: float = const.DEFAULT_RR_NOISE_MS
    hr_on_tau_s: float = const.DEFAULT_HR_ON_TAU_S
    hr_off_tau_s: float = const.DEFAULT_HR_OFF_TAU_S
    weight_kg: float = const.DEFAULT_WEIGHT_KG
    peak_mets: float = const.DEFAULT_PEAK_METS


@dataclass(frozen=True, slots=True)
class PatientVariation:
    """Between-patient standard deviations used when a fleet draws its patients."""

    resting_hr_bpm: float = 0.0
    peak_hr_bpm: float = 0.0
    hrr1_bpm: float = 0.0


@dataclass(frozen=True, slots=True)
class StrapProfile:
    kind: StrapKind
    contact_supported: bool = True
    hr_uint16: bool = False
    energy_expended: bool = True
    battery_start_pct: float = const.DEFAULT_BATTERY_START_PCT
    battery_drain_pct_per_h: float = const.DEFAULT_BATTERY_DRAIN_PCT_PER_H


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    patient: PatientProfile
    variation: PatientVariation
    strap: StrapProfile
    phases: tuple[Phase, ...]
    irregular_rhythm: tuple[Episode, ...] = ()
    motion_artefacts: tuple[ArtefactEpisode, ...] = ()
    contact_loss: tuple[Episode, ...] = ()
    dropouts: tuple[Episode, ...] = ()
    ceiling_hr_bpm: float | None = None

    @property
    def duration_s(self) -> int:
        return sum(p.duration_s for p in self.phases)

    def phase_index_at(self, t_s: float) -> int:
        """Index of the phase running at ``t_s``; after the end, the last phase continues."""
        end = 0
        for index, phase in enumerate(self.phases):
            end += phase.duration_s
            if t_s < end:
                return index
        return len(self.phases) - 1

    def phase_at(self, t_s: float) -> Phase:
        return self.phases[self.phase_index_at(t_s)]

    def phase_start_s(self, index: int) -> int:
        return sum(p.duration_s for p in self.phases[:index])


@dataclass(frozen=True, slots=True)
class ScenarioMix:
    """Weighted scenarios; calling it with a patient index gives that patient's scenario (deterministic)."""

    name: str
    description: str
    entries: tuple[tuple[Scenario, int], ...]

    def __call__(self, index: int) -> Scenario:
        slot = index % sum(weight for _, weight in self.entries)
        for scenario, weight in self.entries:
            if slot < weight:
                return scenario
            slot -= weight
        raise AssertionError("unreachable: slot is below the total weight")


class _Reader:
    """Typed access to one JSON object that reports the file and key on every error."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{where}: expected an object, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.where = where
        self.used: set[str] = set()

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise ScenarioError(f"{self.where}: missing key {key!r}")
            return None
        return self.data[key]

    def number(self, key: str, default: float | None = None, lo: float = 0.0, hi: float = 1e9) -> float:
        value = self._get(key, default is None)
        if value is None:
            return cast(float, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{self.where}.{key}: expected a number, got {value!r}")
        if not lo <= value <= hi:
            raise ScenarioError(f"{self.where}.{key}: {value} is outside [{lo}, {hi}]")
        return float(value)

    def seconds(self, key: str, lo: int = 0) -> int:
        value = self._get(key, True)
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ScenarioError(f"{self.where}.{key}: expected whole seconds >= {lo}, got {value!r}")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, default is None)
        if value is None:
            return cast(bool, default)
        if not isinstance(value, bool):
            raise ScenarioError(f"{self.where}.{key}: expected true or false, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self._get(key, default is None)
        if value is None:
            return cast(str, default)
        if not isinstance(value, str) or not value:
            raise ScenarioError(f"{self.where}.{key}: expected a non-empty string, got {value!r}")
        return value

    def items(self, key: str) -> list[Any]:
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ScenarioError(f"{self.where}.{key}: expected a list, got {type(value).__name__}")
        return value

    def child(self, key: str) -> _Reader:
        value = self._get(key, False)
        return _Reader({} if value is None else value, f"{self.where}.{key}")

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ScenarioError(f"{self.where}: unknown key(s) {unknown}")


def _phases(items: list[Any], where: str) -> list[Phase]:
    out: list[Phase] = []
    for index, item in enumerate(items):
        r = _Reader(item, f"{where}[{index}]")
        if "repeat" in r.data:
            count = r.seconds("repeat", lo=1)
            block = _phases(r.items("phases"), f"{r.where}.phases")
            r.finish()
            out.extend(block * count)
            continue
        kind = r.text("kind")
        if kind not in PHASE_KINDS:
            raise ScenarioError(f"{r.where}.kind: {kind!r} is not one of {list(PHASE_KINDS)}")
        intensity = r.number("intensity", lo=0.0, hi=_MAX_INTENSITY)
        phase = Phase(
            name=r.text("name", kind),
            kind=kind,
            duration_s=r.seconds("duration_s", lo=1),
            intensity=intensity,
            end_intensity=r.number("end_intensity", intensity, lo=0.0, hi=_MAX_INTENSITY),
        )
        r.finish()
        out.append(phase)
    return out


def _episodes(items: list[Any], where: str) -> tuple[Episode, ...]:
    out = []
    for index, item in enumerate(items):
        r = _Reader(item, f"{where}[{index}]")
        out.append(Episode(r.seconds("start_s"), r.seconds("duration_s", lo=1)))
        r.finish()
    return tuple(out)


def _artefact_episodes(items: list[Any], where: str) -> tuple[ArtefactEpisode, ...]:
    out = []
    for index, item in enumerate(items):
        r = _Reader(item, f"{where}[{index}]")
        out.append(
            ArtefactEpisode(r.seconds("start_s"), r.seconds("duration_s", lo=1), r.number("artefacts_per_min", hi=60.0))
        )
        r.finish()
    return tuple(out)


def scenario_from_dict(data: object, source: str = "<scenario>") -> Scenario:
    """Build a :class:`Scenario` from parsed JSON/TOML, checking every key."""
    r = _Reader(data, source)
    fmt = r.text("format")
    if fmt != SCENARIO_FORMAT:
        raise ScenarioError(f"{source}.format: expected {SCENARIO_FORMAT!r}, got {fmt!r}")
    p = r.child("patient")
    resting = p.number("resting_hr_bpm", lo=30.0, hi=130.0)
    patient = PatientProfile(
        resting_hr_bpm=resting,
        peak_hr_bpm=p.number("peak_hr_bpm", lo=resting + 10.0, hi=230.0),
        beta_blocker=p.flag("beta_blocker", False),
        hrr1_bpm=p.number("hrr1_bpm", lo=0.0, hi=80.0),
        ectopy_per_min=p.number("ectopy_per_min", 0.0, hi=30.0),
        rsa_amplitude_ms=p.number("rsa_amplitude_ms", const.DEFAULT_RSA_AMPLITUDE_MS, hi=200.0),
        rr_noise_ms=p.number("rr_noise_ms", const.DEFAULT_RR_NOISE_MS, hi=200.0),
        hr_on_tau_s=p.number("hr_on_tau_s", const.DEFAULT_HR_ON_TAU_S, lo=1.0, hi=600.0),
        hr_off_tau_s=p.number("hr_off_tau_s", const.DEFAULT_HR_OFF_TAU_S, lo=1.0, hi=600.0),
        weight_kg=p.number("weight_kg", const.DEFAULT_WEIGHT_KG, lo=20.0, hi=300.0),
        peak_mets=p.number("peak_mets", const.DEFAULT_PEAK_METS, lo=1.0, hi=25.0),
    )
    p.finish()
    v = r.child("variation")
    variation = PatientVariation(
        v.number("resting_hr_bpm", 0.0, hi=30.0),
        v.number("peak_hr_bpm", 0.0, hi=30.0),
        v.number("hrr1_bpm", 0.0, hi=20.0),
    )
    v.finish()
    s = r.child("strap")
    kind = s.text("kind")
    if kind not in STRAP_KINDS:
        raise ScenarioError(f"{s.where}.kind: {kind!r} is not one of {list(STRAP_KINDS)}")
    strap = StrapProfile(
        kind=kind,
        contact_supported=s.flag("contact_supported", True),
        hr_uint16=s.flag("hr_uint16", False),
        energy_expended=s.flag("energy_expended", True),
        battery_start_pct=s.number("battery_start_pct", const.DEFAULT_BATTERY_START_PCT, lo=0.5, hi=100.0),
        battery_drain_pct_per_h=s.number("battery_drain_pct_per_h", const.DEFAULT_BATTERY_DRAIN_PCT_PER_H, hi=1000.0),
    )
    s.finish()
    phases = _phases(r.items("phases"), f"{source}.phases")
    if not phases:
        raise ScenarioError(f"{source}.phases: a scenario needs at least one phase")
    e = r.child("episodes")
    episodes = (
        _episodes(e.items("irregular_rhythm"), f"{e.where}.irregular_rhythm"),
        _artefact_episodes(e.items("motion_artefact"), f"{e.where}.motion_artefact"),
        _episodes(e.items("contact_loss"), f"{e.where}.contact_loss"),
        _episodes(e.items("dropout"), f"{e.where}.dropout"),
    )
    e.finish()
    rx = r.child("prescription")
    ceiling = rx.number("ceiling_hr_bpm", -1.0, lo=-1.0, hi=250.0)
    rx.finish()
    scenario = Scenario(
        name=r.text("name"),
        description=r.text("description"),
        patient=patient,
        variation=variation,
        strap=strap,
        phases=tuple(phases),
        irregular_rhythm=episodes[0],
        motion_artefacts=episodes[1],
        contact_loss=episodes[2],
        dropouts=episodes[3],
        ceiling_hr_bpm=None if ceiling < 0 else ceiling,
    )
    r.finish()
    return scenario


def _read_file(name_or_path: str | Path) -> tuple[object, str]:
    path = Path(name_or_path)
    if path.suffix not in (".json", ".toml"):
        path = SCENARIO_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise ScenarioError(f"{name_or_path}: no scenario file (looked for {path})")
    try:
        if path.suffix == ".toml":
            with path.open("rb") as handle:
                return tomllib.load(handle), path.name
        return json.loads(path.read_text(encoding="utf-8")), path.name
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path.name}: not valid {path.suffix[1:].upper()}: {exc}") from exc


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by name (a file in :data:`SCENARIO_DIR`) or by path (``.json`` or ``.toml``)."""
    data, source = _read_file(name_or_path)
    return scenario_from_dict(data, source)


def load_mix(name_or_path: str | Path) -> ScenarioMix:
    """Load a mix file; its entries name scenarios in :data:`SCENARIO_DIR`."""
    data, source = _read_file(name_or_path)
    r = _Reader(data, source)
    fmt = r.text("format")
    if fmt != MIX_FORMAT:
        raise ScenarioError(f"{source}.format: expected {MIX_FORMAT!r}, got {fmt!r}")
    entries = []
    for index, item in enumerate(r.items("mix")):
        e = _Reader(item, f"{source}.mix[{index}]")
        entries.append((load_scenario(e.text("scenario")), e.seconds("weight", lo=1)))
        e.finish()
    if not entries:
        raise ScenarioError(f"{source}.mix: a mix needs at least one scenario")
    mix = ScenarioMix(r.text("name"), r.text("description"), tuple(entries))
    r.finish()
    return mix


def available_scenarios() -> tuple[str, ...]:
    """Names of the scenario and mix files shipped in :data:`SCENARIO_DIR`."""
    return tuple(sorted(p.stem for p in SCENARIO_DIR.glob("*.json")))
