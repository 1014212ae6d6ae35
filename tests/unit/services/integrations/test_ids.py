"""Deterministic ids: stable per key, distinct across keys and kinds, in the formats FHIR and HL7 allow."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid

from services.integrations.ids import control_id, resource_id, urn_uuid

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def test_ids_are_stable_and_distinct() -> None:
    assert resource_id("observation-hr", "p:1") == resource_id("observation-hr", "p:1")
    assert resource_id("observation-hr", "p:1") != resource_id("observation-hr", "p:2")
    assert resource_id("observation-hr", "p:1") != resource_id("observation-sdnn", "p:1")
    assert control_id("pcd01", "k") == control_id("pcd01", "k")
    assert control_id("pcd01", "k") != control_id("pcd04", "k")


def test_formats_fit_fhir_ids_and_msh10() -> None:
    assert FHIR_ID.match(resource_id("x", "y"))
    assert urn_uuid("x", "y") == f"urn:uuid:{resource_id('x', 'y')}"
    cid = control_id("pcd01", "pat-001:1714557600")
    assert len(cid) == 20
    assert re.fullmatch(r"[A-Z2-7]{20}", cid)  # base32: no HL7 delimiter can appear


def test_known_values_do_not_drift() -> None:
    # Pinned so that a change of namespace or hashing (which would break receiver de-duplication across a
    # deployment) fails loudly.
    assert resource_id("device", "strap-h10-01") == "7bb45852-ded9-5d49-b29d-82d42a4fa2a7"
    assert control_id("pcd01", "pat-001:1714557600") == "M2QSTM37FUWMHNHC7VQH"


def test_ids_follow_their_documented_derivation() -> None:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "http://cardiorehab.example/fhir")
    assert resource_id("device", "d1") == str(uuid.uuid5(namespace, "device:d1"))
    digest = hashlib.sha256(b"pcd04:a1:0").digest()
    assert control_id("pcd04", "a1:0") == base64.b32encode(digest).decode()[:20]
