"""ACK parsing: accept codes, negative codes with their text, malformed and mismatched answers."""

from __future__ import annotations

import pytest

from services.integrations.errors import MalformedAckError, NegativeAckError
from services.integrations.hl7v2.ack import check_ack, control_id_of, parse_ack

MSH = "MSH|^~\\&|ENGINE|GENHOSP|CARDIOREHAB|CARDIOREHAB|20240501100001||ACK^R01^ACK|A1|P|2.6"


@pytest.mark.parametrize("code", ["AA", "CA"])
def test_accepting_codes_return_the_ack(code: str) -> None:
    ack = check_ack(parse_ack(f"{MSH}\rMSA|{code}|CTRL1\r"), "CTRL1")
    assert ack.accepted
    assert ack.code == code


@pytest.mark.parametrize(("code", "retriable"), [("AE", False), ("CE", False), ("AR", True), ("CR", True)])
def test_negative_codes_raise_with_text_and_retriability(code: str, retriable: bool) -> None:
    answer = f"{MSH}\rMSA|{code}|CTRL1|Patient unknown\rERR||PID^1^3|204^Unknown key identifier^HL70357|E\r"
    with pytest.raises(NegativeAckError) as caught:
        check_ack(parse_ack(answer), "CTRL1")
    assert caught.value.code == code
    assert caught.value.retriable is retriable
    assert caught.value.text == "Patient unknown; Unknown key identifier"


def test_err_user_message_is_preferred_over_the_code_text() -> None:
    answer = f"{MSH}\rMSA|AE|CTRL1\rERR||||E|||diag|Please register the patient first\r"
    assert parse_ack(answer).text == "Please register the patient first"


def test_lf_separated_acks_are_read_too() -> None:
    assert parse_ack(f"{MSH}\nMSA|AA|CTRL1\n").control_id == "CTRL1"


@pytest.mark.parametrize("answer", ["", "hello", f"{MSH}\r", f"{MSH}\rMSA||CTRL1\r", "PID|1\rMSA|AA|X\r"])
def test_answers_without_msh_or_msa_code_are_malformed(answer: str) -> None:
    with pytest.raises(MalformedAckError):
        parse_ack(answer)


def test_ack_for_another_message_or_an_unknown_code_is_malformed() -> None:
    with pytest.raises(MalformedAckError, match="not 'CTRL1'"):
        check_ack(parse_ack(f"{MSH}\rMSA|AA|OTHER\r"), "CTRL1")
    with pytest.raises(MalformedAckError, match="unknown acknowledgment code"):
        check_ack(parse_ack(f"{MSH}\rMSA|ZZ|CTRL1\r"), "CTRL1")


def test_control_id_of_reads_msh10() -> None:
    assert control_id_of(b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01|XYZ123|P|2.6\rPID|||1\r") == "XYZ123"
    with pytest.raises(ValueError, match="MSH"):
        control_id_of(b"PID|||1\r")
    with pytest.raises(ValueError, match="MSH-10"):
        control_id_of(b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01||P|2.6\r")
