#!/usr/bin/env bash
# First start of the timescaledb container: the application role and database, and the extension in it.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
CREATE ROLE cardiorehab LOGIN PASSWORD '${CARDIO_DB_PASSWORD}';
CREATE DATABASE cardiorehab OWNER cardiorehab;
\c cardiorehab
CREATE EXTENSION IF NOT EXISTS timescaledb;
SQL
