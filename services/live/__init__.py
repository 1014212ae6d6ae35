"""Live fan-out: Kafka → per-client queues → websockets."""
