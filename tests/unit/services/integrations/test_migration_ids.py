"""The SQL that computes FHIR ids (migration 0003) uses the builders' namespace and naming."""

from __future__ import annotations

import re
from importlib import resources

from services.integrations.ids import ID_NAMESPACE


def test_the_migration_namespace_is_the_builders_namespace() -> None:
    sql = resources.files("services.db").joinpath("migrations/0003_outbox.sql").read_text()
    literals = re.findall(r"uuid_generate_v5\('([0-9a-f-]{36})'::uuid, kind \|\| ':' \|\| key\)", sql)
    assert literals == [str(ID_NAMESPACE)]
    # the kinds the read API looks up must be the kinds the builders use
    for kind in ("'patient', id", "'device', id", "'detectedissue', alert_id", "'bundle-session-summary'"):
        assert f"fhir_resource_id({kind}" in sql
