"""Errors raised by the hospital-integration builders and the MLLP client.

Every error carries ``retriable`` (aiokafka style) so the dispatcher and :mod:`services.integrations.backoff`
decide what to do without parsing messages.

Hierarchy
---------
IntegrationError(Exception)
    Base of every error defined here.

    BuildError(IntegrationError, ValueError)                       retriable = False
        An internal event that cannot be mapped to the requested message (wrong lifecycle step, a value the
        message needs is absent). The same row fails the same way: dead-letter it.

        ResourceValidationError(BuildError)
            ``fhir.resources`` or ``hl7apy`` rejected what a builder produced. This is a bug in our mapping,
            never in the input: the message names the resource or message type and the library's reason.

    TransportError(IntegrationError)
        Delivering a built message failed.

        MllpConnectionError(TransportError)                        retriable = True
            Could not connect, or the connection broke before the acknowledgement arrived. The client
            reconnects on the next send.
        AckTimeoutError(TransportError)                            retriable = True
            No acknowledgement within the timeout. The connection is dropped (a late ACK must not be read as
            the answer to the next message); resending is safe because MSH-10 is deterministic.
        MalformedAckError(TransportError)                          retriable = False
            The peer answered with something that is not an HL7 ACK for our message. Check that the endpoint is
            really an MLLP HL7 listener.
        NegativeAckError(TransportError)                           retriable: see the class
            The receiver answered AE/AR (original mode) or CE/CR (enhanced mode). ``code`` and ``text``
            (MSA-3 and ERR) say why.
        RestHookConnectionError(TransportError)                    retriable = True
            The rest-hook endpoint could not be reached, timed out, or answered 408/425/429/5xx.
        RestHookRejectedError(TransportError)                      retriable: see the class
            The rest-hook endpoint answered another 4xx: the FHIR counterpart of a negative acknowledgement.

    ConfigurationError(IntegrationError)                           retriable = False
        A hospital's stored configuration cannot be used as it is (a credential reference that does not resolve,
        an endpoint the dispatcher cannot build a client for). Fix the configuration or the deployment's secrets.
"""

from __future__ import annotations

from typing import Final


class IntegrationError(Exception):
    """Base of the integration errors."""

    retriable: bool = False


class BuildError(IntegrationError, ValueError):
    """An event that cannot become the requested message; dead-letter the outbox row."""


class ResourceValidationError(BuildError):
    """A built FHIR resource or HL7 message failed the library's validation: a mapping bug, fix the builder."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"built {what} failed validation: {reason}")


class TransportError(IntegrationError):
    """Delivering a message failed."""


class MllpConnectionError(TransportError):
    """Connecting failed or the connection broke before the ACK; the client reconnects on the next send."""

    retriable = True


class AckTimeoutError(TransportError):
    """No ACK within the timeout; the connection was dropped and the message may be resent (same MSH-10)."""

    retriable = True


class MalformedAckError(TransportError):
    """The peer's answer is not an HL7 ACK for our message; check the endpoint configuration."""


# HL7 v2.6 section 2.9 (acknowledgment rules, table 0008): AE/CE mean the receiver found an error in the
# message content, so the same bytes fail again; AR/CR mean a rejection for reasons other than content
# (receiver unavailable, or an unsupported MSH-9/MSH-11/MSH-12), which may clear when the receiver recovers.
# AR/CR are therefore retried, with the bounded backoff of ``backoff.RetryPolicy``.
RETRIABLE_NAK_CODES: Final = frozenset({"AR", "CR"})
NEGATIVE_ACK_CODES: Final = frozenset({"AE", "AR", "CE", "CR"})


class NegativeAckError(TransportError):
    """The receiver refused the message (MSA-1 AE/AR/CE/CR); ``text`` carries MSA-3 and the ERR segments."""

    def __init__(self, code: str, control_id: str, text: str) -> None:
        self.code = code
        self.control_id = control_id
        self.text = text
        self.retriable = code in RETRIABLE_NAK_CODES
        action = (
            "will retry; if it persists, check the receiver's status and its MSH-9/11/12 configuration"
            if self.retriable
            else "the receiver rejected the content: fix the mapping or the receiver's profile, do not resend"
        )
        super().__init__(
            f"message {control_id} negatively acknowledged ({code}): {text or 'no reason given'}; {action}"
        )


class RestHookConnectionError(TransportError):
    """The rest-hook endpoint was unreachable, timed out, or answered a transient status (408/425/429/5xx)."""

    retriable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


# RFC 9110: 401/403 (credentials), 404/410 (the endpoint moved) can clear once the hospital fixes its side, so they
# are retried with the bounded budget of a negative acknowledgement; any other 4xx refuses the content itself.
RETRIABLE_REJECTION_STATUSES: Final = frozenset({401, 403, 404, 410})
TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})


class RestHookRejectedError(TransportError):
    """The rest-hook endpoint refused the notification with a 4xx; ``status`` and ``text`` say how."""

    def __init__(self, status: int, message_id: str, text: str) -> None:
        self.status = status
        self.code = f"HTTP {status}"
        self.message_id = message_id
        self.text = text
        self.retriable = status in RETRIABLE_REJECTION_STATUSES
        action = (
            "will retry; check the credential reference and the endpoint URL configured for this hospital"
            if self.retriable
            else "the endpoint rejected the content: check its FHIR version and profile, do not resend"
        )
        super().__init__(f"notification {message_id} rejected with HTTP {status}: {text or 'no body'}; {action}")


class ConfigurationError(IntegrationError):
    """A hospital's configuration cannot be used as stored; the message names the hospital and what to fix."""
