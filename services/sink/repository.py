"""Writes rows with COPY into a temporary staging table, then one INSERT ... ON CONFLICT into the hypertable.

For tables without derived state, :func:`copy_directly` first tries one plain COPY into the table inside a savepoint:
a stream without replays has no conflicts, and a plain COPY costs about half of staging plus merging. If any row
already exists (a replay), the savepoint is rolled back and the caller merges through the staging table instead,
so the result is the same either way.

Tables with a columnar mapping (``TableSpec.columnar``) arrive as one binary COPY payload per batch
(:class:`services.sink.columnar.Encoded`), written in one call: cheaper to build than rows, and the server parses no
text. Other tables are copied row by row in text format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from services.sink.columnar import Encoded
from services.sink.tables import TableSpec

# What is copied: text COPY rows (``spec.to_row``'s) or a columnar table's ready binary payload.
CopyData = Sequence[Sequence[Any]] | Encoded


def row_count(data: CopyData) -> int:
    return data.rows if isinstance(data, Encoded) else len(data)


def stage_name(spec: TableSpec) -> sql.Identifier:
    return sql.Identifier(f"stage_{spec.table}")


def _copy_statement(spec: TableSpec, target: sql.Identifier) -> sql.Composed:
    cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
    fmt = sql.SQL(" (FORMAT BINARY)" if spec.columnar is not None else "")
    return sql.SQL("COPY {target} ({cols}) FROM STDIN{fmt}").format(target=target, cols=cols, fmt=fmt)


async def _copy(cur: psycopg.AsyncCursor[Any], spec: TableSpec, target: sql.Identifier, data: CopyData) -> None:
    """COPY ``data`` into ``target``."""
    async with cur.copy(_copy_statement(spec, target)) as copy:
        if isinstance(data, Encoded):
            await copy.write(data.payload)
            return
        write_row = copy.write_row
        for row in data:
            await write_row(row)


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


async def copy_rows(conn: AsyncConnection, spec: TableSpec, data: CopyData) -> int:
    """Stage ``data`` with COPY and merge it; returns how many rows were new or changed.

    Runs inside the caller's transaction; the staging table empties itself on commit.
    """
    if not row_count(data):
        return 0
    stage = stage_name(spec)
    async with conn.cursor() as cur:
        await cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            ).format(stage=stage, table=sql.Identifier(spec.table))
        )
        await _copy(cur, spec, stage, data)
        await cur.execute(_merge_statement(spec))
        written = cur.rowcount
        for followup in spec.followups:
            await cur.execute(followup(stage))
        return written


async def copy_directly(conn: AsyncConnection, spec: TableSpec, data: CopyData) -> bool:
    """COPY straight into the table inside a savepoint; False (and nothing written) if a row already exists."""
    if not row_count(data):
        return True
    try:
        async with conn.transaction(), conn.cursor() as cur:
            await _copy(cur, spec, sql.Identifier(spec.table), data)
    except psycopg.errors.UniqueViolation:
        return False
    return True
