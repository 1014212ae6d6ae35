"""Kafka to TimescaleDB: batched COPY, idempotent on each message's key, offsets committed after the commit."""
