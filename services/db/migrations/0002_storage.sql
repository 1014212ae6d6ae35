-- Issue 6: raw sensor frames, device tokens, prescriptions, sessions, alerts with their history, patient entries,
-- and the bookkeeping of the retention scheduler. Retention itself runs in the service (services/db/retention.py):
-- the Apache edition of TimescaleDB has no background jobs.

-- Polar PMD ECG frames (sensor.ecg.v1). Same idempotency rule as sensor_hr: (device_id, seq) plus the gateway time
-- the reading carries, so a replay hits the same unique key. `time` is the gateway's receive time (event time),
-- `device_time` the strap's clock at the frame's last sample.
CREATE TABLE sensor_ecg (
    time         timestamptz NOT NULL,
    patient_id   text NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    device_time  timestamptz NOT NULL,
    fs_hz        real NOT NULL CHECK (fs_hz > 0),
    samples_uv   integer[] NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, seq, time)
);
-- ~130 samples/s per strap: smaller chunks than the 1 Hz tables so retention frees space in finer steps.
SELECT create_hypertable('sensor_ecg', by_range('time', INTERVAL '6 hours'));
CREATE INDEX sensor_ecg_patient_time_idx ON sensor_ecg (patient_id, time DESC);

-- Polar PMD accelerometer frames (sensor.acc.v1): samples_mg is an n x 3 array of (x, y, z) in mG.
CREATE TABLE sensor_acc (
    time         timestamptz NOT NULL,
    patient_id   text NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    device_time  timestamptz NOT NULL,
    fs_hz        real NOT NULL CHECK (fs_hz > 0),
    samples_mg   integer[] NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_id, seq, time)
);
SELECT create_hypertable('sensor_acc', by_range('time', INTERVAL '6 hours'));
CREATE INDEX sensor_acc_patient_time_idx ON sensor_acc (patient_id, time DESC);

-- Device tokens: only the SHA-256 of the token is stored (the token is shown once). A token is bound to one device
-- and the patient the device belonged to when it was issued; it expires and can be revoked.
CREATE TABLE device_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash    text NOT NULL UNIQUE,
    device_id     text NOT NULL REFERENCES devices (id),
    patient_id    text NOT NULL REFERENCES patients (id),
    label         text CHECK (length(label) <= 200),
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_by    uuid REFERENCES users (id),
    last_used_at  timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX device_tokens_device_idx ON device_tokens (device_id, created_at DESC);

ALTER TABLE patients ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX patients_clinic_mrn_idx ON patients (clinic_id, mrn) WHERE mrn IS NOT NULL;
CREATE INDEX devices_active_patient_idx ON devices (patient_id) WHERE retired_at IS NULL;

-- Exercise prescriptions, versioned per patient (every PrescriptionV1 field, thresholds as columns). The newest
-- version is current; `published_at` records when it was acknowledged by Kafka (prescriptions.v1).
CREATE TABLE prescriptions (
    patient_id               text NOT NULL REFERENCES patients (id),
    version                  integer NOT NULL CHECK (version >= 1),
    clinic_id                text NOT NULL REFERENCES clinics (id),
    prescribed_by            uuid REFERENCES users (id),
    prescribed_by_name       text NOT NULL,
    prescribed_at            timestamptz NOT NULL DEFAULT now(),
    method                   text NOT NULL CHECK (method IN ('karvonen', 'pct_peak', 'threshold', 'bpm')),
    resting_hr_bpm           real NOT NULL CHECK (resting_hr_bpm BETWEEN 0 AND 300),
    peak_hr_bpm              real CHECK (peak_hr_bpm BETWEEN 0 AND 300),
    peak_hr_source           text NOT NULL CHECK (peak_hr_source IN ('cpet', 'exercise_test', 'estimated', 'none')),
    intensity_low            real NOT NULL CHECK (intensity_low >= 0),
    intensity_high           real NOT NULL CHECK (intensity_high >= 0),
    threshold_hr_bpm         real CHECK (threshold_hr_bpm BETWEEN 0 AND 300),
    ceiling_bpm              real NOT NULL CHECK (ceiling_bpm BETWEEN 0 AND 300),
    beta_blocker             boolean NOT NULL DEFAULT false,
    rpe_low                  smallint NOT NULL CHECK (rpe_low BETWEEN 6 AND 20),
    rpe_high                 smallint NOT NULL CHECK (rpe_high BETWEEN 6 AND 20),
    sex                      text CHECK (sex IN ('male', 'female')),
    age_years                smallint CHECK (age_years BETWEEN 0 AND 130),
    ischaemic_threshold_bpm  real CHECK (ischaemic_threshold_bpm BETWEEN 0 AND 300),
    ceiling_grace_s          integer CHECK (ceiling_grace_s BETWEEN 0 AND 600),
    absolute_limit_bpm       real CHECK (absolute_limit_bpm BETWEEN 0 AND 300),
    do_not_start_rest_hr_bpm real CHECK (do_not_start_rest_hr_bpm BETWEEN 0 AND 300),
    signal_lost_s            real CHECK (signal_lost_s BETWEEN 1 AND 300),
    low_battery_pct          smallint CHECK (low_battery_pct BETWEEN 0 AND 100),
    note                     text CHECK (length(note) <= 2000),
    published_at             timestamptz,
    PRIMARY KEY (patient_id, version),
    CHECK (intensity_low <= intensity_high),
    CHECK (rpe_low <= rpe_high)
);

-- sessions.v1, one row per (session_id, event): the idempotency key. `sessions` is the current state, recomputed
-- from all of a session's events whenever one arrives, so the order of arrival never matters.
CREATE TABLE session_events (
    session_id        text NOT NULL,
    event             text NOT NULL CHECK (event IN ('start', 'end', 'summary')),
    patient_id        text NOT NULL,
    t                 timestamptz NOT NULL,
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    duration_s        real,
    time_in_band_s    real,
    time_in_band_pct  real,
    peak_hr_bpm       real,
    mean_hr_bpm       real,
    trimp_banister    real,
    trimp_edwards     real,
    hrr1_bpm          real,
    hrr2_bpm          real,
    flags             text[] NOT NULL DEFAULT '{}',
    stored_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, event)
);

CREATE TABLE sessions (
    session_id        text PRIMARY KEY,
    patient_id        text NOT NULL,
    status            text NOT NULL CHECK (status IN ('active', 'ended', 'summarised')),
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    duration_s        real,
    time_in_band_s    real,
    time_in_band_pct  real,
    peak_hr_bpm       real,
    mean_hr_bpm       real,
    trimp_banister    real,
    trimp_edwards     real,
    hrr1_bpm          real,
    hrr2_bpm          real,
    flags             text[] NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_patient_started_idx ON sessions (patient_id, started_at DESC);

-- Alert tiers in order of urgency; an engine update to a higher tier withdraws acknowledgement and snooze.
CREATE FUNCTION alert_tier_rank(tier text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE tier WHEN 'patient_cue' THEN 1 WHEN 'nurse' THEN 2 WHEN 'urgent' THEN 3 ELSE 0 END;

-- Every step of every alert: the engine's (raised/updated/cleared from alerts.v1, idempotent on alert_id:revision)
-- and the clinicians' (acknowledged, snoozed, snooze_cancelled, escalated, from the API, with who did it).
-- API steps have no revision; NULLs never conflict, so UNIQUE (alert_id, revision) keys only the engine's steps.
CREATE TABLE alert_events (
    id                bigserial PRIMARY KEY,
    alert_id          text NOT NULL,
    kind              text NOT NULL CHECK (kind IN (
                          'raised', 'updated', 'cleared', 'acknowledged', 'snoozed', 'snooze_cancelled', 'escalated')),
    revision          integer,
    at                timestamptz NOT NULL,
    patient_id        text NOT NULL,
    session_id        text,
    rule              text,
    tier              text CHECK (tier IN ('patient_cue', 'nurse', 'urgent')),
    message           text,
    value             double precision,
    threshold         double precision,
    actor             uuid,
    actor_name        text,
    actor_role        text,
    snoozed_until     timestamptz,
    escalation_level  smallint,
    note              text CHECK (length(note) <= 1000),
    stored_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alert_id, revision),
    CHECK ((revision IS NOT NULL) = (kind IN ('raised', 'updated', 'cleared')))
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, at, id);

-- The current state of each alert: the engine's newest revision plus the clinicians' shared state (one
-- acknowledgement, one snooze, one escalation level per alert). `action_seq` counts clinician actions so that
-- live clients can order alert_state messages (higher wins), as `revision` orders the engine's.
CREATE TABLE alerts (
    alert_id              text PRIMARY KEY,
    patient_id            text NOT NULL,
    session_id            text,
    rule                  text NOT NULL,
    tier                  text NOT NULL CHECK (tier IN ('patient_cue', 'nurse', 'urgent')),
    state                 text NOT NULL CHECK (state IN ('active', 'cleared')),
    last_event            text NOT NULL CHECK (last_event IN ('raised', 'updated', 'cleared')),
    revision              integer NOT NULL,
    raised_at             timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    cleared_at            timestamptz,
    message               text NOT NULL,
    value                 double precision,
    threshold             double precision,
    acknowledged_at       timestamptz,
    acknowledged_by       uuid,
    acknowledged_by_name  text,
    snoozed_until         timestamptz,
    snoozed_at            timestamptz,
    snoozed_by            uuid,
    snoozed_by_name       text,
    snooze_reason         text,
    escalation_level      smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
    escalated_at          timestamptz,
    escalated_by          uuid,
    escalated_by_name     text,
    action_seq            integer NOT NULL DEFAULT 0,
    stored_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_patient_raised_idx ON alerts (patient_id, raised_at DESC);
CREATE INDEX alerts_active_patient_idx ON alerts (patient_id) WHERE state = 'active';

-- Patient-entered perceived exertion (Borg 6-20, CLINICAL.md 2.2) and symptoms.
CREATE TABLE rpe_entries (
    id          bigserial PRIMARY KEY,
    patient_id  text NOT NULL REFERENCES patients (id),
    session_id  text,
    at          timestamptz NOT NULL,
    rpe         smallint NOT NULL CHECK (rpe BETWEEN 6 AND 20),
    context     text NOT NULL CHECK (context IN ('during', 'stage_end', 'session_end')),
    note        text CHECK (length(note) <= 500),
    entered_by  uuid NOT NULL REFERENCES users (id),
    entered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rpe_entries_patient_at_idx ON rpe_entries (patient_id, at DESC);

CREATE TABLE symptom_entries (
    id          bigserial PRIMARY KEY,
    patient_id  text NOT NULL REFERENCES patients (id),
    session_id  text,
    at          timestamptz NOT NULL,
    symptoms    text[] NOT NULL CHECK (cardinality(symptoms) BETWEEN 1 AND 10),
    severity    smallint NOT NULL CHECK (severity BETWEEN 0 AND 10),
    note        text CHECK (length(note) <= 500),
    entered_by  uuid NOT NULL REFERENCES users (id),
    entered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX symptom_entries_patient_at_idx ON symptom_entries (patient_id, at DESC);

-- Retention deletes by age from the plain tables.
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX dead_letters_stored_idx ON dead_letters (stored_at);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
CREATE INDEX users_patient_idx ON users (patient_id) WHERE patient_id IS NOT NULL;

-- The retention scheduler's record: at most one run per interval across all replicas (the run itself holds an
-- advisory lock, see services/db/retention.py).
CREATE TABLE maintenance_runs (
    task         text PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    ran_by       text NOT NULL,
    result       jsonb NOT NULL DEFAULT '{}'
);
