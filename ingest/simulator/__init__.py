"""Patient simulator: pure, seeded physiology and strap models that emit the bytes real straps send."""

from ingest.simulator.errors import ScenarioError, SimulatorError
from ingest.simulator.fleet import Fleet, GroundTruth, SimNotification, simulate_patient
from ingest.simulator.physiology import BEAT_ECTOPIC, BEAT_IRREGULAR, BEAT_NORMAL, PatientParameters
from ingest.simulator.scenario import (
    ArtefactEpisode,
    Episode,
    PatientProfile,
    PatientVariation,
    Phase,
    Scenario,
    ScenarioMix,
    StrapProfile,
    available_scenarios,
    load_mix,
    load_scenario,
    scenario_from_dict,
)

__all__ = [
    "BEAT_ECTOPIC",
    "BEAT_IRREGULAR",
    "BEAT_NORMAL",
    "ArtefactEpisode",
    "Episode",
    "Fleet",
    "GroundTruth",
    "PatientParameters",
    "PatientProfile",
    "PatientVariation",
    "Phase",
    "Scenario",
    "ScenarioError",
    "ScenarioMix",
    "SimNotification",
    "SimulatorError",
    "StrapProfile",
    "available_scenarios",
    "load_mix",
    "load_scenario",
    "scenario_from_dict",
    "simulate_patient",
]
