"""Credential references: how a hospital's secrets are named in the database without being stored there.

A reference is ``env:NAME`` (an environment variable of the dispatcher process) or ``file:/path`` (a file the
dispatcher can read, e.g. a mounted Kubernetes or Docker secret; one trailing newline is stripped). The database,
the API and every log show only the reference; the dispatcher resolves it when it loads the hospital.

Why references and not encryption in the database: an encryption key would itself need a home outside the
database (a setting with no production default), it would have to be rotated together with every stored secret,
and a database dump plus the key would still reveal everything. A reference keeps the secret where the deployment
already keeps secrets (its secret store), lets the hospital's operators rotate it without touching this service,
and the processes that never send (API, sink) never see it.

Pure: the environment and the file reader are parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Final

from pydantic import SecretStr, StringConstraints

from services.integrations.errors import ConfigurationError

CREDENTIAL_REF_PATTERN: Final = r"^(env:[A-Z_][A-Z0-9_]*|file:/[^\x00-\x1f\x7f]+)$"
CREDENTIAL_REF_MAX: Final = 1024  # the migration's CHECK uses the same bound
_REF: Final = re.compile(CREDENTIAL_REF_PATTERN)

CredentialRef = Annotated[str, StringConstraints(pattern=CREDENTIAL_REF_PATTERN, max_length=CREDENTIAL_REF_MAX)]


def resolve_credential(
    ref: str, *, environ: Mapping[str, str], read_file: Callable[[str], str], what: str = "credential"
) -> SecretStr:
    """The secret a reference names; :class:`ConfigurationError` (naming the reference, never a value) otherwise."""
    if len(ref) > CREDENTIAL_REF_MAX or not _REF.match(ref):
        raise ConfigurationError(f"{what}: {ref!r} is not a credential reference (env:NAME or file:/path)")
    scheme, _, target = ref.partition(":")
    if scheme == "env":
        value = environ.get(target)
        if not value:
            raise ConfigurationError(f"{what}: environment variable {target} named by {ref!r} is not set or empty")
        return SecretStr(value)
    try:
        text = read_file(target)
    except OSError as exc:
        raise ConfigurationError(f"{what}: cannot read {ref!r}: {exc.strerror or exc}") from exc
    value = text[:-1] if text.endswith("\n") else text
    if not value:
        raise ConfigurationError(f"{what}: the file named by {ref!r} is empty")
    return SecretStr(value)
