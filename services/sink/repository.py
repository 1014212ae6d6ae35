"""Writes rows with COPY into a temporary staging table, then one INSERT ... ON CONFLICT into the hypertable.

For tables without derived state, :func:`copy_directly` first tries one plain COPY into the table inside a savepoint:
a stream without replays has no conflicts, and a plain COPY costs about half of staging plus merging. If any row
already exists (a replay), the savepoint is rolled back and the caller merges through the staging table instead,
so the result is the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from services.sink.tables import TableSpec


def stage_name(spec: TableSpec) -> sql.Identifier:
    return sql.Identifier(f"stage_{spec.table}")


def _merge_statement(spec: TableSpec) -> sql.Composed:
    cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    conflict = sql.SQL(", ").join(map(sql.Identifier, spec.conflict))
    if spec.update_on_conflict:
        updates = sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in spec.columns if c not in spec.conflict
        )
        action: sql.Composable = sql.SQL("DO UPDATE SET {}").format(updates)
    else:
        action = sql.SQL("DO NOTHING")
    return sql.SQL("INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({conflict}) {action}").format(
        table=sql.Identifier(spec.table), cols=cols, stage=stage_name(spec), conflict=conflict, action=action
    )


async def copy_rows(conn: AsyncConnection, spec: TableSpec, rows: Sequence[Sequence[Any]]) -> int:
    """Stage ``rows`` with COPY and merge them; returns the number of rows that were new or changed.

    Runs inside the caller's transaction; the staging table empties itself on commit.
    """
    if not rows:
        return 0
    stage = stage_name(spec)
    cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    async with conn.cursor() as cur:
        await cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            ).format(stage=stage, table=sql.Identifier(spec.table))
        )
        async with cur.copy(sql.SQL("COPY {stage} ({cols}) FROM STDIN").format(stage=stage, cols=cols)) as copy:
            for row in rows:
                await copy.write_row(row)
        await cur.execute(_merge_statement(spec))
        written = cur.rowcount
        for followup in spec.followups:
            await cur.execute(followup(stage))
        return written


async def copy_directly(conn: AsyncConnection, spec: TableSpec, rows: Sequence[Sequence[Any]]) -> bool:
    """COPY straight into the table inside a savepoint; False (and nothing written) if a row already exists."""
    if not rows:
        return True
    cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    try:
        async with conn.transaction(), conn.cursor() as cur:
            statement = sql.SQL("COPY {table} ({cols}) FROM STDIN").format(table=sql.Identifier(spec.table), cols=cols)
            async with cur.copy(statement) as copy:
                for row in rows:
                    await copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        return False
    return True
