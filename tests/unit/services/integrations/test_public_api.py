"""Pin the public API: what the packages re-export, and that the builders and the outbox's pure decisions stay free
of I/O libraries (only the MLLP client and the ``dispatch`` package, the I/O shell, may import them)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import services.integrations
import services.integrations.fhir
import services.integrations.hl7v2

PACKAGE = Path(services.integrations.__file__).parent
# socket is left out: the standard library and pydantic import it without doing any I/O.
IO_LIBRARIES = {"asyncio", "fastapi", "psycopg", "aiokafka", "faust", "httpx", "bleak"}


def test_exports() -> None:
    assert sorted(services.integrations.__all__) == sorted([
        "DEFAULT_RETRY_POLICY", "AckTimeoutError", "AlertCoding", "AlertPriority", "BuildError", "DeviceContext",
        "EscalationPolicy", "EscalationTimings", "FhirEndpoint", "GatewayContext", "HospitalConfig",
        "HospitalContext", "IntegrationError", "MalformedAckError", "MllpConnectionError", "MllpEndpoint",
        "NegativeAckError", "ObservationFeed", "OutboundMessage", "PatientContext", "ResourceValidationError",
        "RetryPolicy", "SendingApplication", "TransportError", "classify", "eui64_from_eui48", "next_delay_s",
        "priority_of",
    ])  # fmt: skip
    assert sorted(services.integrations.hl7v2.__all__) == [
        "Ack", "check_ack", "control_id_of", "parse_ack", "pcd01_message", "pcd04_message",
    ]  # fmt: skip
    for module in (services.integrations, services.integrations.fhir, services.integrations.hl7v2):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _is_io_shell(path: Path) -> bool:
    relative = path.relative_to(PACKAGE)
    return relative.name == "mllp.py" or relative.parts[0] == "dispatch"


def test_only_the_mllp_client_and_the_dispatch_shell_import_io_libraries() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imported_roots(path) & IO_LIBRARIES)
        for path in PACKAGE.rglob("*.py")
        if not _is_io_shell(path) and _imported_roots(path) & IO_LIBRARIES
    }
    assert offenders == {}
    assert any(_imported_roots(p) & IO_LIBRARIES for p in (PACKAGE / "dispatch").glob("*.py")), "the check is live"


def test_importing_the_builders_loads_no_io_library() -> None:
    code = (
        "import sys\n"
        "import services.integrations, services.integrations.fhir, services.integrations.hl7v2\n"
        "import services.integrations.config\n"
        "import services.integrations.planning, services.integrations.delivery, services.integrations.escalation\n"
        "import services.integrations.stored, services.integrations.credentials, services.integrations.resolve\n"
        "import services.integrations.fhir.search, services.integrations.fhir.patient\n"
        "import services.integrations.fhir.subscription_request\n"
        f"print(sorted(m for m in {sorted(IO_LIBRARIES)!r} if m in sys.modules))\n"
    )
    root = PACKAGE.parent.parent
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
