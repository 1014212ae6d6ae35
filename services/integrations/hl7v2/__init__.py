"""HL7 v2.6 builders for IHE PCD-01 (ORU^R01) and IHE PCD ACM PCD-04 (ORU^R40), and ACK parsing."""

from services.integrations.hl7v2.ack import Ack, check_ack, control_id_of, parse_ack
from services.integrations.hl7v2.pcd01 import pcd01_message
from services.integrations.hl7v2.pcd04 import pcd04_message

__all__ = ["Ack", "check_ack", "control_id_of", "parse_ack", "pcd01_message", "pcd04_message"]
