"""A client's Subscription (R4 ``backport-subscription``) as a request: what we accept and what it means (pure).

Accepted: a rest-hook channel with ``application/fhir+json``; ``criteria`` one of our topics
(:data:`~services.integrations.fhir.subscriptions.TOPICS`); the backport extensions for payload content,
heartbeat period, timeout and filter criteria (``<Resource>?patient=<Patient id>``). The server assigns the id and
starts the subscription as ``requested`` (active once the handshake is delivered), whatever the client sent.

Refused, with a reason: any other channel type or payload; credentials in ``channel.header`` (they would be stored
and shown with the resource: a hospital's credentials are configured by a clinic administrator, as references).
Which endpoint is allowed is decided by the caller (it must be the rest-hook URL of a configured hospital).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.integrations.fhir.subscriptions import (
    EXT_FILTER_CRITERIA,
    EXT_HEARTBEAT_PERIOD,
    EXT_PAYLOAD_CONTENT,
    EXT_TIMEOUT,
    TOPICS,
    PayloadContent,
)

_TEXT: Final = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[str, Field(max_length=2000, pattern=_TEXT)]
CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie"})
_HEADER: Final = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*)$")
_FILTER: Final = re.compile(r"^(?P<resource>[A-Za-z]+)\?patient=(?:Patient/)?(?P<id>[A-Za-z0-9\-.]{1,64})$")
_STRICT: Final = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class SubscriptionRequestError(ValueError):
    """The Subscription cannot be accepted as sent; the message says what to change."""


class Extension(BaseModel):
    model_config = _STRICT

    url: Text
    value_unsigned_int: int | None = Field(default=None, alias="valueUnsignedInt", ge=0, le=2_147_483_647)
    value_positive_int: int | None = Field(default=None, alias="valuePositiveInt", ge=1, le=2_147_483_647)
    value_code: Text | None = Field(default=None, alias="valueCode")
    value_string: Text | None = Field(default=None, alias="valueString")


class PrimitiveExtensions(BaseModel):
    model_config = _STRICT

    extension: list[Extension] = Field(default_factory=list, max_length=50)


class Meta(BaseModel):
    model_config = _STRICT

    profile: list[Text] = Field(default_factory=list, max_length=10)


class Channel(BaseModel):
    model_config = _STRICT

    type: Literal["rest-hook"]
    endpoint: Text = Field(min_length=1)
    payload: Literal["application/fhir+json"] = "application/fhir+json"
    payload_extensions: PrimitiveExtensions | None = Field(default=None, alias="_payload")
    header: list[Text] = Field(default_factory=list, max_length=20)
    extension: list[Extension] = Field(default_factory=list, max_length=20)


class SubscriptionRequest(BaseModel):
    """The Subscription resource a client POSTs (R4 form, ``backport-subscription`` profile)."""

    model_config = _STRICT

    resource_type: Literal["Subscription"] = Field(alias="resourceType")
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")] | None = None
    meta: Meta | None = None
    status: Literal["requested", "active", "error", "off"] = "requested"
    reason: Text = Field(min_length=1)
    criteria: Text = Field(min_length=1)
    criteria_extensions: PrimitiveExtensions | None = Field(default=None, alias="_criteria")
    end: AwareDatetime | None = None
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionTerms:
    """What was asked for, validated."""

    topic: str
    endpoint: str
    content: PayloadContent
    heartbeat_period_s: int | None
    timeout_s: int | None
    filter_criteria: tuple[str, ...]
    headers: tuple[str, ...]
    reason: str
    end_ns: int | None


def _one(extensions: list[Extension], url: str) -> Extension | None:
    found = [e for e in extensions if e.url == url]
    if len(found) > 1:
        raise SubscriptionRequestError(f"extension {url} appears {len(found)} times; send it once")
    return found[0] if found else None


def terms(
    request: SubscriptionRequest,
    *,
    default_content: PayloadContent,
    default_heartbeat_s: int | None,
    default_timeout_s: int | None,
) -> SubscriptionTerms:
    topic = TOPICS.get(request.criteria)
    if topic is None:
        raise SubscriptionRequestError(
            f"criteria {request.criteria!r} is not a topic of this server; GET /fhir/Basic lists them "
            f"({', '.join(sorted(TOPICS))})"
        )
    headers = []
    for header in request.channel.header:
        match = _HEADER.match(header)
        if match is None:
            raise SubscriptionRequestError(f"channel.header {header!r} is not 'Name: value'")
        if match.group(1).lower() in CREDENTIAL_HEADERS:
            raise SubscriptionRequestError(
                "credentials may not be sent in channel.header (they would be stored and shown with the "
                "Subscription); a clinic administrator configures the hospital's bearer token as a reference"
            )
        headers.append(header)
    payload_ext = request.channel.payload_extensions.extension if request.channel.payload_extensions else []
    content_ext = _one(payload_ext, EXT_PAYLOAD_CONTENT)
    content: str = default_content if content_ext is None else content_ext.value_code or ""
    if content not in ("empty", "id-only", "full-resource"):
        raise SubscriptionRequestError(f"payload content {content!r}: use empty, id-only or full-resource")
    heartbeat = _one(request.channel.extension, EXT_HEARTBEAT_PERIOD)
    timeout = _one(request.channel.extension, EXT_TIMEOUT)
    heartbeat_s = default_heartbeat_s if heartbeat is None else heartbeat.value_unsigned_int
    if heartbeat is not None and not heartbeat_s:
        raise SubscriptionRequestError("backport-heartbeat-period needs a positive valueUnsignedInt (seconds)")
    timeout_s = default_timeout_s if timeout is None else timeout.value_unsigned_int
    if timeout is not None and not timeout_s:
        raise SubscriptionRequestError("backport-timeout needs a positive valueUnsignedInt (seconds)")
    criteria_ext = request.criteria_extensions.extension if request.criteria_extensions else []
    filters = []
    for ext in criteria_ext:
        if ext.url != EXT_FILTER_CRITERIA:
            continue
        match = _FILTER.match(ext.value_string or "")
        if match is None or match.group("resource") != topic.resource:
            raise SubscriptionRequestError(
                f"filter criteria {ext.value_string!r}: this topic filters by patient only, as "
                f"'{topic.resource}?patient=<Patient id>'"
            )
        filters.append(f"{topic.resource}?patient={match.group('id')}")
    return SubscriptionTerms(
        topic=topic.url,
        endpoint=request.channel.endpoint,
        content=content,  # type: ignore[arg-type]
        heartbeat_period_s=heartbeat_s,
        timeout_s=timeout_s,
        filter_criteria=tuple(filters),
        headers=tuple(headers),
        reason=request.reason,
        end_ns=None if request.end is None else int(request.end.timestamp() * 1_000_000_000),
    )
