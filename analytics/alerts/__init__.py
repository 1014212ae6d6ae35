"""The alert engine: tiered rules evaluated on an immutable snapshot with an injected clock."""

from analytics.alerts.engine import AlertEngineState, evaluate
from analytics.alerts.rules import RULES, Rule
from analytics.alerts.snapshot import Snapshot, Thresholds, resolve_thresholds

__all__ = ["RULES", "AlertEngineState", "Rule", "Snapshot", "Thresholds", "evaluate", "resolve_thresholds"]
