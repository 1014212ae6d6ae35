"""Errors of the patient simulator.

Hierarchy
---------
SimulatorError(Exception)
    Base; ``retriable`` is always False (the same input fails the same way).

    ScenarioError(SimulatorError, ValueError)
        A scenario or mix file that cannot be used: unknown or missing keys, wrong types, values out of range,
        a scenario name that has no file. The message names the file and the key; fix the file.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of the simulator errors."""

    retriable: bool = False


class ScenarioError(SimulatorError, ValueError):
    """A scenario or mix file that cannot be used; the message names the file and the key."""
