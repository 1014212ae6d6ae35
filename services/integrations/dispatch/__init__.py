"""The outbox's I/O shell: enqueueing in the sink's and the scheduler's transactions, the dispatcher process that
delivers over MLLP and FHIR rest-hooks, and the escalation scheduler. Pure decisions live one level up
(``planning``, ``delivery``, ``escalation``); this package only moves bytes and rows. docs/integration.md has the
guarantees.
"""
