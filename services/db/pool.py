"""The async connection pool every database user of ours shares."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from services.db.settings import DatabaseSettings


async def _configure(conn: AsyncConnection) -> None:
    await conn.set_autocommit(False)


def create_pool(settings: DatabaseSettings, *, name: str = "cardiorehab") -> AsyncConnectionPool:
    """An unopened pool; callers ``await pool.open(wait=True)`` in their lifespan and close it on the way out."""
    return AsyncConnectionPool(
        settings.dsn(),
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        name=name,
        open=False,
        configure=_configure,
        kwargs={
            "options": f"-c statement_timeout={settings.statement_timeout_ms} -c timezone=UTC",
            "application_name": name,
        },
    )
