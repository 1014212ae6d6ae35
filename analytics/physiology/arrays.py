"""Array type aliases and input validation shared by the physiology modules."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from analytics.physiology.errors import InvalidInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def as_float_array(values: Iterable[float] | npt.ArrayLike, name: str, *, allow_nan: bool = False) -> FloatArray:
    """Return ``values`` as a 1-D float64 array, rejecting other shapes and (unless allowed) NaN or inf."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr) if not allow_nan else np.isinf(arr)
    if bool(bad.any()):
        raise InvalidInputError(
            f"{name} contains {int(bad.sum())} non-finite values (first at index {int(np.flatnonzero(bad)[0])})"
        )
    return arr


def as_rr_array(rr_ms: Iterable[float] | npt.ArrayLike, name: str = "rr_ms") -> FloatArray:
    """Return RR intervals (ms) as a validated float64 array: finite and strictly positive."""
    arr = as_float_array(rr_ms, name)
    if arr.size and bool((arr <= 0).any()):
        raise InvalidInputError(
            f"{name} must be strictly positive milliseconds; index "
            f"{int(np.flatnonzero(arr <= 0)[0])} is {arr[arr <= 0][0]}"
        )
    return arr
