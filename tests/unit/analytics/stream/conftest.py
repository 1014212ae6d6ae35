"""Drive a :class:`PatientRuntime` with simulated strap readings and a ticking fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.events import AlertV1, FeaturesV1, PrescriptionV1, SessionV1
from analytics.stream.runtime import NS, PatientRuntime
from ingest.events import SensorHrV1
from ingest.simulate import Numbering, Translator
from ingest.simulator import Fleet, load_scenario

T0 = 1_800_000_000 * NS


def prescription(**kw: object) -> PrescriptionV1:
    base: dict[str, object] = dict(
        patient_id="sim-001",
        clinic_id="c",
        version=3,
        prescribed_by="dr",
        prescribed_time_ns=0,
        method="karvonen",
        resting_hr_bpm=70.0,
        peak_hr_bpm=160.0,
        peak_hr_source="cpet",
        intensity_low=0.4,
        intensity_high=0.6,
        ceiling_bpm=130.0,
    )
    base.update(kw)
    return PrescriptionV1(**base)  # type: ignore[arg-type]


def readings(scenario: str, seconds: int, seed: int = 3) -> list[SensorHrV1]:
    fleet = Fleet(1, seed, load_scenario(scenario), start_time_ns=T0)
    translator = Translator(["sim-001"], ["strap-1"], Numbering(base=0))
    events = [translator.translate(n) for n in fleet.advance_to(T0 + seconds * NS)]
    return [e for e in events if isinstance(e, SensorHrV1)]


@dataclass
class Drive:
    runtime: PatientRuntime = field(default_factory=lambda: PatientRuntime("sim-001"))
    features: list[FeaturesV1] = field(default_factory=list)
    alerts: list[AlertV1] = field(default_factory=list)
    sessions: list[SessionV1] = field(default_factory=list)

    def run(
        self,
        rs: list[SensorHrV1],
        rx: PrescriptionV1,
        *,
        lag_ns: int = 50_000_000,
        until_ns: int | None = None,
        start_ns: int | None = None,
    ) -> None:
        """Process readings ``lag_ns`` after their gateway time, ticking once a second in between."""
        i = 0
        end = until_ns if until_ns is not None else (rs[-1].gateway_time_ns + NS if rs else T0)
        t = start_ns if start_ns is not None else T0
        while t <= end:
            while i < len(rs) and rs[i].gateway_time_ns + lag_ns <= t:
                out = self.runtime.on_reading(rs[i], rx, now_ns=rs[i].gateway_time_ns + lag_ns)
                if out is not None:
                    self.collect(out)
                i += 1
            self.collect(self.runtime.on_tick(rx, now_ns=t))
            t += NS // 2

    def collect(self, out: object) -> None:
        self.features += out.features  # type: ignore[attr-defined]
        self.alerts += out.alerts  # type: ignore[attr-defined]
        self.sessions += out.sessions  # type: ignore[attr-defined]

    def rule(self, name: str) -> list[AlertV1]:
        return [a for a in self.alerts if a.rule == name]
