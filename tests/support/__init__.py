"""Helpers shared by integration and end-to-end tests: the real stack's settings, isolated topics and databases,
and service processes started (and killed) for real."""
