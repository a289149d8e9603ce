"""The message tables' row layouts (app/farcaster/rows.py) are the models' columns: what the
processor COPYs, the parsers build and the staged form round-trips."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from sqlalchemy import LargeBinary

from app.db.models_registry import metadata
from app.farcaster.batch import Batch
from app.farcaster.messages import ParsedMessage
from app.farcaster.rows import BASE_COLUMNS, BYTES_AT, COLUMNS, ROWS, STATE_COLUMNS, CastRow

SET_BY_THE_DATABASE = {"created_at"}  # server defaults, never written by the COPY


@pytest.mark.parametrize("table", list(ROWS))
def test_a_row_layout_is_its_tables_columns(table):
    model = metadata.tables[f"farcaster_{table}"]
    copied = BASE_COLUMNS + COLUMNS[table] + STATE_COLUMNS
    assert len(set(copied)) == len(copied)
    assert set(copied) == {c.name for c in model.columns} - SET_BY_THE_DATABASE
    bytea = {c.name for c in model.columns if isinstance(c.type, LargeBinary)} - set(BASE_COLUMNS) - set(STATE_COLUMNS)
    assert {COLUMNS[table][i] for i in BYTES_AT[table]} == bytea


def test_the_staged_form_rebuilds_named_rows():
    cast = ParsedMessage(b"\x01" * 20, 7, 1, "casts",
                         CastRow("hi", "CAST", 3, b"\x02" * 20, None, [5], [0], [{"url": "https://x"}]),
                         datetime(2026, 1, 1, tzinfo=timezone.utc), b"\x03" * 32)
    batch = Batch()
    batch.add_message(cast)
    [rebuilt] = Batch.from_staged(orjson.loads(batch.to_staged())).messages.values()
    assert rebuilt.values == cast.values and rebuilt.values.parent_hash == b"\x02" * 20
    assert type(rebuilt.values) is CastRow
