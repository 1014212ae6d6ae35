"""The physiology package's public API and its import rule (numpy, scipy and the standard library only)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import analytics.physiology as physiology

PACKAGE_DIR = Path(physiology.__file__).parent
ALLOWED_THIRD_PARTY = {"numpy", "scipy"}


def test_imports_only_numpy_scipy_and_stdlib() -> None:
    offenders = []
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if name.startswith("analytics.physiology") or top in ALLOWED_THIRD_PARTY:
                    continue
                if top not in sys.stdlib_module_names or top in {"asyncio"}:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_public_api_is_pinned() -> None:
    assert sorted(physiology.__all__) == physiology.__all__
    for name in physiology.__all__:
        assert hasattr(physiology, name), name
    for required in (
        "PatientStream",
        "Prescription",
        "StreamSnapshot",
        "correct_rr",
        "time_domain_hrv",
        "screen_rhythm",
        "detect_r_peaks",
        "build_session_report",
    ):
        assert required in physiology.__all__
