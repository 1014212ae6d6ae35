"""Errors raised by the physiology core.

Hierarchy::

    PhysiologyError (ValueError)
    ├── InvalidInputError        the caller passed data that cannot be physiology (fix the caller or the data)
    ├── InsufficientDataError    too few beats or seconds for the requested metric (wait for more data)
    └── PrescriptionError        the prescription is inconsistent (ask the clinician to correct it)
"""

from __future__ import annotations


class PhysiologyError(ValueError):
    """Base class for all physiology errors."""


class InvalidInputError(PhysiologyError):
    """Input arrays have the wrong shape, contain non-finite values or impossible units; fix the caller."""


class InsufficientDataError(PhysiologyError):
    """Not enough data for this metric; wait for more beats or seconds before asking again."""


class PrescriptionError(PhysiologyError):
    """The prescription is inconsistent (e.g. band above the ceiling); ask the clinician to correct it."""
