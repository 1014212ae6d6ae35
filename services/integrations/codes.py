"""Every code, code system and profile URL the integration builders emit, each with its source.

Conventions
-----------
- Standard codes (LOINC, ISO/IEEE 11073-10101 "MDC", UCUM, HL7 terminology) are emitted only where a source is
  named next to them. "[verify]" marks a value taken from consistent secondary sources (public implementation
  guides' examples, public PCD-04 implementations) rather than read in the primary standard.
- Concepts with no standard code use the project CodeSystem :data:`PROJECT_CODE_SYSTEM`, under the project's
  canonical base :data:`PROJECT_CANONICAL_BASE`. They are project-local, never presented as standard. The
  ``.example`` TLD is reserved (RFC 2606); a deployment that publishes these definitions replaces the base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Code:
    """One code in one system, with the display (for MDC: the reference identifier) we send with it."""

    system: str
    code: str
    display: str


# ----------------------------------------------------------------------------------------------------------
# Code system URIs
# ----------------------------------------------------------------------------------------------------------
LOINC: Final = "http://loinc.org"
# FHIR R4 terminology page "urn:iso:std:iso:11073:10101" (also CLINICAL.md section 3, PHD IG examples).
MDC: Final = "urn:iso:std:iso:11073:10101"
UCUM: Final = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
OBSERVATION_INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
REFERENCE_RANGE_MEANING: Final = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
COMMUNICATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/communication-category"

PROJECT_CANONICAL_BASE: Final = "http://cardiorehab.example/fhir"
# Project-local CodeSystem for concepts without a standard code (RMSSD, session summary figures, alert rules).
PROJECT_CODE_SYSTEM: Final = f"{PROJECT_CANONICAL_BASE}/CodeSystem/cardiorehab"
# Project-local CodeSystem for alert priorities, shaped after the R6 (ballot) DeviceAlert.priority codes
# high | medium | low | info (https://hl7.org/fhir/6.0.0-ballot4/codesystem-devicealert-priority.html). R4 has no
# DeviceAlert, so the codes live in our namespace rather than borrowing an unpublished R6 system URL.
PROJECT_ALERT_PRIORITY_SYSTEM: Final = f"{PROJECT_CANONICAL_BASE}/CodeSystem/alert-priority"
PROJECT_ALERT_PRIORITY_EXTENSION: Final = f"{PROJECT_CANONICAL_BASE}/StructureDefinition/alert-priority"
# Identifier systems for our own ids (patients are identified by the hospital's MRN system, see context.py).
PROJECT_DEVICE_ID_SYSTEM: Final = f"{PROJECT_CANONICAL_BASE}/sid/device-id"
PROJECT_ALERT_ID_SYSTEM: Final = f"{PROJECT_CANONICAL_BASE}/sid/alert-id"
PROJECT_MESSAGE_ID_SYSTEM: Final = f"{PROJECT_CANONICAL_BASE}/sid/message-id"
PROJECT_SESSION_ID_SYSTEM: Final = f"{PROJECT_CANONICAL_BASE}/sid/session-id"

# ----------------------------------------------------------------------------------------------------------
# Profiles and core extensions
# ----------------------------------------------------------------------------------------------------------
# FHIR R4 vital signs: heart rate profile, which fixes code LOINC 8867-4 and unit /min
# (https://hl7.org/fhir/R4/heartrate.html).
PROFILE_HEART_RATE: Final = "http://hl7.org/fhir/StructureDefinition/heartrate"
# HL7 Personal Health Device IG (STU 1.x on R4), StructureDefinitions PhdDevice / PhgDevice (HL7/phd
# input/resources/PhdDevice.xml, PhgDevice.xml).
PROFILE_PHD_DEVICE: Final = "http://hl7.org/fhir/uv/phd/StructureDefinition/PhdDevice"
PROFILE_PHG_DEVICE: Final = "http://hl7.org/fhir/uv/phd/StructureDefinition/PhgDevice"
# FHIR R4 core extension linking an Observation to the gateway that forwarded it; the PHD IG uses it because a
# PHD "has no parent Device" (PhdDevice.xml, Device comment).
EXT_OBSERVATION_GATEWAY_DEVICE: Final = "http://hl7.org/fhir/StructureDefinition/observation-gatewayDevice"

# ----------------------------------------------------------------------------------------------------------
# PHD IG device identifiers (PhdDevice.xml slices systemIdIdentifier / btmacAddressIdentifier, R4 STU 1.x)
# ----------------------------------------------------------------------------------------------------------
CONTINUA_DEVICE_IDENTIFIERS: Final = "http://hl7.org/fhir/uv/phd/CodeSystem/ContinuaDeviceIdentifiers"
SYSID_SYSTEM: Final = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"  # IEEE EUI-64 system id
BTMAC_SYSTEM: Final = "http://hl7.org/fhir/sid/eui-48/bluetooth"

# ----------------------------------------------------------------------------------------------------------
# LOINC
# ----------------------------------------------------------------------------------------------------------
# Fixed by the R4 heartrate profile (https://hl7.org/fhir/R4/heartrate.html).
LOINC_HEART_RATE: Final = Code(LOINC, "8867-4", "Heart rate")
# "R-R interval.standard deviation (Heart rate variability)"; CLINICAL.md 2.6 (HealthKit SDNN mapping).
LOINC_SDNN: Final = Code(LOINC, "80404-7", "R-R interval.standard deviation (Heart rate variability)")
# "Exercise duration", reported in minutes (LOINC; used by the HL7 Physical Activity IG) [verify].
LOINC_EXERCISE_DURATION: Final = Code(LOINC, "55411-3", "Exercise duration")

# ----------------------------------------------------------------------------------------------------------
# ISO/IEEE 11073-10101 (MDC); code = 65536 * partition + term code
# ----------------------------------------------------------------------------------------------------------
# CLINICAL.md section 3; uv-pocd mappingv2.md example OBX (alias MDC_ECG_CARD_BEAT_RATE).
MDC_ECG_HEART_RATE: Final = Code(MDC, "147842", "MDC_ECG_HEART_RATE")
# R-R interval, global; CLINICAL.md section 3.
MDC_ECG_TIME_PD_RR_GL: Final = Code(MDC, "147240", "MDC_ECG_TIME_PD_RR_GL")
# Unit codes (partition 4); uv-pocd mappingv2.md example OBX-6.
MDC_DIM_BEAT_PER_MIN: Final = Code(MDC, "264864", "MDC_DIM_BEAT_PER_MIN")
# Device codes; PhdDevice.xml (65573 fixed), PhgDevice.xml (531981 fixed).
MDC_MOC_VMS_MDS_SIMP: Final = Code(MDC, "65573", "MDC_MOC_VMS_MDS_SIMP")
MDC_MOC_VMS_MDS_AHD: Final = Code(MDC, "531981", "MDC_MOC_VMS_MDS_AHD")
# 11073-10441 cardiovascular fitness and activity monitor (partition 8, term 4137); the closest 11073 device
# specialization for a heart-rate strap, which the PHD IG asks the gateway to map a non-20601 device to
# ("Non 11073 20601 Devices"). Code listed in the PHD IG code tables and Continua PCD-01 examples.
MDC_DEV_SPEC_PROFILE_HF_CARDIO: Final = Code(MDC, "528425", "MDC_DEV_SPEC_PROFILE_HF_CARDIO")
# Device.version types; PhdDevice.xml Device.version.type.coding table.
MDC_ID_PROD_SPEC_HW: Final = Code(MDC, "531974", "MDC_ID_PROD_SPEC_HW")
MDC_ID_PROD_SPEC_SW: Final = Code(MDC, "531975", "MDC_ID_PROD_SPEC_SW")
MDC_ID_PROD_SPEC_FW: Final = Code(MDC, "531976", "MDC_ID_PROD_SPEC_FW")
# Time synchronisation property; PHD IG examples (phd-74E8FFFEFF051C00..., phg-ecde3d4e58532d31...).
MDC_TIME_SYNC_PROTOCOL: Final = Code(MDC, "68220", "MDC_TIME_SYNC_PROTOCOL")
MDC_TIME_SYNC_NONE: Final = Code(MDC, "532224", "MDC_TIME_SYNC_NONE")
MDC_TIME_SYNC_NTPV4: Final = Code(MDC, "532226", "MDC_TIME_SYNC_NTPV4")
# Alert events (partition 3). MDC_EVT_HI: PHD IG example bp-device-alert.json. MDC_EVT_LO and MDC_EVT_ALARM:
# IHE PCD ACM examples (OBR-4 196616 is also in CLINICAL.md section 3) [verify].
MDC_EVT_ALARM: Final = Code(MDC, "196616", "MDC_EVT_ALARM")
MDC_EVT_HI: Final = Code(MDC, "196648", "MDC_EVT_HI")
MDC_EVT_LO: Final = Code(MDC, "196670", "MDC_EVT_LO")
# IHE PCD ACM (PCD-04) alert facets, OBX-3 of facets 2-7. The 68480-68485 block is what IHE PCD TF-2 example
# messages and independent public PCD-04 implementations use [verify against RTMMS]; some early ACM trial
# messages used 68164-68168 instead, which we do not emit.
MDC_ATTR_ALERT_SOURCE: Final = Code(MDC, "68480", "MDC_ATTR_ALERT_SOURCE")
MDC_ATTR_EVENT_PHASE: Final = Code(MDC, "68481", "MDC_ATTR_EVENT_PHASE")
MDC_ATTR_ALARM_STATE: Final = Code(MDC, "68482", "MDC_ATTR_ALARM_STATE")
MDC_ATTR_ALARM_INACTIVATION_STATE: Final = Code(MDC, "68483", "MDC_ATTR_ALARM_INACTIVATION_STATE")
MDC_ATTR_ALARM_PRIORITY: Final = Code(MDC, "68484", "MDC_ATTR_ALARM_PRIORITY")
MDC_ATTR_ALERT_TYPE: Final = Code(MDC, "68485", "MDC_ATTR_ALERT_TYPE")

# ----------------------------------------------------------------------------------------------------------
# UCUM (https://ucum.org); the R4 heartrate profile fixes "/min".
# ----------------------------------------------------------------------------------------------------------
UCUM_PER_MIN: Final = Code(UCUM, "/min", "beats/minute")
UCUM_MS: Final = Code(UCUM, "ms", "ms")
UCUM_MIN: Final = Code(UCUM, "min", "min")
UCUM_PERCENT: Final = Code(UCUM, "%", "%")
# Curly braces are a UCUM annotation: dimensionless 1 with a label, for scores such as TRIMP.
UCUM_TRIMP: Final = Code(UCUM, "{TRIMP}", "TRIMP")

# ----------------------------------------------------------------------------------------------------------
# Project-local codes (PROJECT_CODE_SYSTEM); no standard code exists or none could be verified.
# ----------------------------------------------------------------------------------------------------------
# RMSSD has no LOINC (CLINICAL.md 2.6: "RMSSD has no common LOINC (archetypes use custom codes)").
PROJECT_RMSSD: Final = Code(PROJECT_CODE_SYSTEM, "rmssd", "Root mean square of successive RR differences")
PROJECT_RR_SERIES: Final = Code(PROJECT_CODE_SYSTEM, "rr-series", "RR interval series of one notification")
PROJECT_SESSION_SUMMARY: Final = Code(PROJECT_CODE_SYSTEM, "session-summary", "Cardiac rehab session summary")
PROJECT_SESSION_DURATION: Final = Code(PROJECT_CODE_SYSTEM, "session-duration", "Session duration")
PROJECT_TIME_IN_BAND: Final = Code(PROJECT_CODE_SYSTEM, "time-in-band-pct", "Time in prescribed band")
PROJECT_PEAK_HR: Final = Code(PROJECT_CODE_SYSTEM, "peak-hr", "Peak heart rate during session")
PROJECT_MEAN_HR: Final = Code(PROJECT_CODE_SYSTEM, "mean-hr", "Mean heart rate during session")
PROJECT_TRIMP_BANISTER: Final = Code(PROJECT_CODE_SYSTEM, "trimp-banister", "Banister TRIMP")
PROJECT_TRIMP_EDWARDS: Final = Code(PROJECT_CODE_SYSTEM, "trimp-edwards", "Edwards TRIMP")
PROJECT_HRR1: Final = Code(PROJECT_CODE_SYSTEM, "hrr1", "Heart rate recovery at 1 min (peak minus HR at 1 min)")
PROJECT_HRR2: Final = Code(PROJECT_CODE_SYSTEM, "hrr2", "Heart rate recovery at 2 min (peak minus HR at 2 min)")

# ----------------------------------------------------------------------------------------------------------
# HL7 v2 / IHE PCD constants
# ----------------------------------------------------------------------------------------------------------
# IHE PCD TF-2 PCD-01 MSH-21 message profile (CLINICAL.md section 3).
IHE_PCD_001_PROFILE: Final = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
# IHE PCD ACM PCD-04 MSH-21 message profile (CLINICAL.md section 3, ACM supplement).
IHE_PCD_ACM_001_PROFILE: Final = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO"
# OBR-4 for PCD-01: "monitoring of patient", as in IHE PCD TF-2 PCD-01 examples [verify].
OBR4_MONITORING_OF_PATIENT: Final = "182777000^monitoring of patient^SNOMED-CT"
