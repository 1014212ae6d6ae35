"""Fast construction of frozen dataclasses on the live path.

A frozen dataclass's generated ``__init__`` must set every field with ``object.__setattr__`` (its own
``__setattr__`` refuses), one call per field: 2-6 us on the benchmark machine for the 21 fields of
:class:`analytics.physiology.snapshot.StreamSnapshot`, which the live path builds for every patient every second.
For the few classes built that often, the class is declared without ``slots`` and :func:`build_frozen` installs
the instance ``__dict__`` in one step (as :mod:`copy` and :mod:`pickle` restore instances), several times
faster. The instance is the same as the constructor's: same fields, equality, hash and repr, and still
read-only.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def build_frozen(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen, non-slots dataclass ``cls`` with exactly ``fields``, without ``__init__``.

    ``fields`` becomes the instance ``__dict__`` (no copy): pass a new dict and do not keep it. The caller passes
    every field by name (defaults are not applied and ``__post_init__`` is not run); tests check each such call
    site against the normal constructor.
    """
    obj = cls.__new__(cls)
    _object_setattr(obj, "__dict__", fields)  # the class's own __setattr__ refuses, being frozen
    return obj


_object_setattr = object.__setattr__
