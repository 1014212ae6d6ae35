-- Issue 8: hospital integration. Per-hospital configuration (which clinics it serves, its endpoints, references to
-- its credentials), FHIR subscriptions (R5 Backport IG on R4), the transactional outbox the sink fills in the same
-- transaction as the alert step, and what the escalation scheduler has forwarded. See docs/integration.md.

-- FHIR logical ids on /fhir are the builders' name-based UUIDs (services/integrations/ids.py: RFC 9562 version 5
-- in the project namespace, name "<kind>:<key>"). uuid-ossp computes the same value in SQL, so a read by id is one
-- index lookup; the extension is "trusted", so the database owner creates it without superuser.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

-- The namespace literal is services.integrations.ids.ID_NAMESPACE (a unit test checks they agree).
CREATE FUNCTION fhir_resource_id(kind text, key text) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN uuid_generate_v5('1a7c1176-239b-5816-acc7-285f03570394'::uuid, kind || ':' || key);

CREATE INDEX patients_fhir_id_idx ON patients (fhir_resource_id('patient', id));
CREATE INDEX devices_fhir_id_idx ON devices (fhir_resource_id('device', id));
CREATE INDEX alerts_fhir_id_idx ON alerts (fhir_resource_id('detectedissue', alert_id));
CREATE INDEX sessions_fhir_bundle_idx ON sessions (fhir_resource_id('bundle-session-summary', session_id || ':summary'));

-- One row per hospital. `settings` is services.integrations.stored.StoredHospitalConfig without its endpoints
-- (sending/receiving application, which tiers and rules, PCD-01 cadence, escalation timings), validated by that model
-- on every write. No secret is ever stored here: see hospital_endpoints.credential_ref.
CREATE TABLE hospitals (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    settings    jsonb NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid
);

-- The clinics whose patients' alerts and summaries go to the hospital.
CREATE TABLE hospital_clinics (
    hospital_id  text NOT NULL REFERENCES hospitals (id) ON DELETE CASCADE,
    clinic_id    text NOT NULL REFERENCES clinics (id),
    PRIMARY KEY (hospital_id, clinic_id)
);
CREATE INDEX hospital_clinics_clinic_idx ON hospital_clinics (clinic_id);

-- The hospital's endpoints: its MLLP listener (PCD-01/PCD-04) and its FHIR rest-hook. Credentials are never stored:
-- `credential_ref` names where the dispatcher reads the secret at start-up, `env:NAME` (an environment variable) or
-- `file:/path` (e.g. a mounted Kubernetes/Docker secret). A database dump or an API read shows only the reference.
CREATE TABLE hospital_endpoints (
    hospital_id     text NOT NULL REFERENCES hospitals (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('mllp', 'fhir-rest-hook')),
    settings        jsonb NOT NULL,
    credential_ref  text CHECK (length(credential_ref) <= 1024
                                 AND credential_ref ~ '^(env:[A-Z_][A-Z0-9_]*|file:/[^[:cntrl:]]+)$'),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hospital_id, channel),
    CHECK (channel = 'fhir-rest-hook' OR credential_ref IS NULL)
);

-- Topic-based subscriptions (Subscriptions R5 Backport IG, R4 form), one live subscription per hospital and topic.
-- `events_since_start` is the last event number handed out (BackportSubscriptionStatusR4
-- events-since-subscription-start); it is advanced under this row's lock in the transaction that enqueues the event.
CREATE TABLE fhir_subscriptions (
    id                    text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9.-]{1,64}$'),
    hospital_id           text NOT NULL REFERENCES hospitals (id),
    topic                 text NOT NULL,
    status                text NOT NULL CHECK (status IN ('requested', 'active', 'error', 'off')),
    endpoint              text NOT NULL,
    content               text NOT NULL CHECK (content IN ('empty', 'id-only', 'full-resource')),
    heartbeat_period_s    integer CHECK (heartbeat_period_s > 0),
    timeout_s             integer CHECK (timeout_s > 0),
    filter_criteria       text[] NOT NULL DEFAULT '{}',
    headers               text[] NOT NULL DEFAULT '{}',
    reason                text NOT NULL,
    end_at                timestamptz,
    events_since_start    bigint NOT NULL DEFAULT 0,
    last_notification_at  timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    last_error            text,
    created_by            uuid,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX fhir_subscriptions_live_idx ON fhir_subscriptions (hospital_id, topic) WHERE status <> 'off';

-- The transactional outbox. `id` is the enqueue order; messages of one `ordering_key` (an MLLP patient stream of one
-- hospital, or one FHIR subscription) are delivered strictly in `id` order, each only after every earlier one reached
-- a final state. `message_id` is deterministic (MSH-10, or a UUID from the subscription and the source step), so a
-- replayed step never enqueues twice and a redelivery carries the same id. `payload` is exactly what goes on the wire.
CREATE TABLE outbox (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hospital_id       text NOT NULL REFERENCES hospitals (id),
    channel           text NOT NULL CHECK (channel IN ('mllp', 'fhir-rest-hook')),
    message_id        text NOT NULL,
    kind              text NOT NULL CHECK (kind IN (
                          'pcd04', 'pcd04-escalation', 'pcd01', 'fhir-alert', 'fhir-alert-escalation',
                          'fhir-session-summary', 'fhir-handshake')),
    ordering_key      text NOT NULL,
    patient_id        text,
    alert_id          text,
    revision          integer,
    session_id        text,
    subscription_id   text REFERENCES fhir_subscriptions (id),
    event_number      bigint,
    escalation_level  smallint,
    source_key        text NOT NULL,
    content_type      text NOT NULL,
    payload           bytea NOT NULL,
    state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'nacked')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_attempt_at   timestamptz,
    last_error        text,
    ack_code          text,
    delivered_at      timestamptz,
    delivered_by      text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (hospital_id, channel, message_id)
);
CREATE INDEX outbox_pending_idx ON outbox (ordering_key, id) WHERE state = 'pending';
CREATE INDEX outbox_alert_idx ON outbox (alert_id, id) WHERE alert_id IS NOT NULL;
CREATE INDEX outbox_patient_idx ON outbox (patient_id, id);
CREATE INDEX outbox_hospital_state_idx ON outbox (hospital_id, state, id);

-- Delivery state per alert, hospital and channel (what the delivery-state API summarises on an alert).
CREATE VIEW alert_delivery_state AS
SELECT alert_id, hospital_id, channel,
       count(*) AS messages,
       count(*) FILTER (WHERE state = 'delivered') AS delivered,
       count(*) FILTER (WHERE state = 'pending') AS pending,
       count(*) FILTER (WHERE state = 'nacked') AS nacked,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       max(delivered_at) AS last_delivered_at
FROM outbox WHERE alert_id IS NOT NULL
GROUP BY alert_id, hospital_id, channel;

-- Escalations (automatic or a clinician's) at the hospital-channel level that the scheduler has forwarded to the
-- hospitals, so a forward happens once per alert and level even with several dispatcher replicas.
CREATE TABLE alert_escalation_forwards (
    alert_id      text NOT NULL,
    level         smallint NOT NULL CHECK (level BETWEEN 1 AND 3),
    messages      integer NOT NULL,
    forwarded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, level)
);

-- PCD-01 cadence: the last features second sent per hospital and patient (ObservationFeed.cadence_s).
CREATE TABLE observation_feeds (
    hospital_id  text NOT NULL REFERENCES hospitals (id) ON DELETE CASCADE,
    patient_id   text NOT NULL,
    last_sent_s  bigint NOT NULL,
    PRIMARY KEY (hospital_id, patient_id)
);
