"""Errors of the local stack. Each message says what the operator should do next.

StackError
  raised when a component cannot be installed, started or found healthy
"""


class StackError(RuntimeError):
    """The local stack could not reach the requested state; the message says why and what to do."""
