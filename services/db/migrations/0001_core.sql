-- Core schema: who is who (clinics, users, patients, devices) and the time series the stream produces.
-- The timescaledb extension is created by the database owner at bootstrap (it needs superuser); this
-- statement only checks it is there.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE clinics (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patients (
    id            text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    clinic_id     text NOT NULL REFERENCES clinics (id),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    sex           text CHECK (sex IN ('male', 'female')),
    birth_year    integer CHECK (birth_year BETWEEN 1900 AND 2100),
    mrn           text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    archived_at   timestamptz
);
CREATE INDEX patients_clinic_idx ON patients (clinic_id) WHERE archived_at IS NULL;

-- Roles (issue 6): patient, nurse, charge_nurse, clinic_admin, integration, device handled by device_tokens.
CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username       text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.@-]{3,100}$'),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('patient', 'nurse', 'charge_nurse', 'clinic_admin', 'integration')),
    clinic_id      text NOT NULL REFERENCES clinics (id),
    patient_id     text REFERENCES patients (id),
    display_name   text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    disabled_at    timestamptz,
    CHECK ((role = 'patient') = (patient_id IS NOT NULL))
);
CREATE INDEX users_clinic_idx ON users (clinic_id);

CREATE TABLE devices (
    id            text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    patient_id    text NOT NULL REFERENCES patients (id),
    kind          text NOT NULL CHECK (kind IN ('hrs', 'polar_h10', 'gateway')),
    address       text,
    manufacturer  text,
    model         text,
    serial        text,
    firmware      text,
    enrolled_at   timestamptz NOT NULL DEFAULT now(),
    retired_at    timestamptz
);
CREATE INDEX devices_patient_idx ON devices (patient_id);

-- One row per Heart Rate Measurement notification; (device_id, seq) is the reading's idempotency key and
-- `time` (the gateway's receive time) travels with the reading, so a replay hits the same unique key.
CREATE TABLE sensor_hr (
    time            timestamptz NOT NULL,
    patient_id      text NOT NULL,
    device_id       text NOT NULL,
    seq             bigint NOT NULL,
    device_time     timestamptz,
    hr_bpm          smallint NOT NULL,
    rr_ms           double precision[] NOT NULL DEFAULT '{}',
    sensor_contact  boolean,
    energy_kj       integer,
    battery_pct     smallint,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, seq, time)
);
SELECT create_hypertable('sensor_hr', by_range('time', INTERVAL '1 day'));
CREATE INDEX sensor_hr_patient_time_idx ON sensor_hr (patient_id, time DESC);

-- One snapshot per patient per second (the key is (patient_id, time)).
CREATE TABLE features (
    time               timestamptz NOT NULL,
    patient_id         text NOT NULL,
    session_id         text,
    computed_at        timestamptz NOT NULL,
    hr_bpm             real,
    zone               smallint,
    band_low_bpm       real,
    band_high_bpm      real,
    ceiling_bpm        real,
    band_pct           real,
    in_band            boolean,
    time_in_band_s     real NOT NULL DEFAULT 0,
    time_in_zone_s     real[] NOT NULL DEFAULT '{}',
    elapsed_s          real NOT NULL DEFAULT 0,
    trimp_banister     real,
    trimp_edwards      real,
    rmssd_ms           real,
    sdnn_ms            real,
    phase              text NOT NULL DEFAULT 'unknown',
    signal             text NOT NULL DEFAULT 'ok',
    data_age_s         real NOT NULL DEFAULT 0,
    sensor_contact     boolean,
    battery_pct        smallint,
    artefact_pct       real,
    rhythm_irregular   boolean NOT NULL DEFAULT false,
    cue                text NOT NULL DEFAULT 'none',
    late               boolean NOT NULL DEFAULT false,
    readings           integer NOT NULL DEFAULT 0,
    prescription_version integer,
    UNIQUE (patient_id, time)
);
SELECT create_hypertable('features', by_range('time', INTERVAL '1 day'));
CREATE INDEX features_session_idx ON features (session_id, time) WHERE session_id IS NOT NULL;

-- Input rejected by any stage (copied from deadletter.v1), so operators can see and replay it.
CREATE TABLE dead_letters (
    stage        text NOT NULL,
    origin       text NOT NULL,
    reason       text NOT NULL,
    received_at  timestamptz NOT NULL,
    key          text,
    payload_utf8 text,
    payload_b64  text,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stage, origin)
);

-- Refresh tokens: only their SHA-256 is stored; rotated on every use, revocable.
CREATE TABLE refresh_tokens (
    token_hash   text PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    replaced_by  text
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- Every read of patient data, and every change, by whom (issue 6).
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    actor_role   text NOT NULL,
    action       text NOT NULL,
    patient_id   text,
    clinic_id    text,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, at DESC);
