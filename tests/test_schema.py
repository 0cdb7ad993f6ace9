"""The schema is the one definition of the import format: check it against DESIGN.md's contract."""

import duckdb
import pytest

from fairshare import schema

# Required columns per table, transcribed from DESIGN.md's canonical import format v1.
CONTRACT_REQUIRED = {
    "accounts": {"account_id"},
    "contacts": {"contact_id", "account_id"},
    "reps": {"rep_id", "team"},
    "campaigns": {"campaign_id", "channel"},
    "spend": {"date", "channel", "amount"},
    "touches": {"touch_id", "at", "channel"},
    "activities": {"activity_id", "at", "rep_id", "kind"},
    "leads": {"lead_id", "created_at"},
    "lifecycle": {"entity", "entity_id", "stage", "at"},
    "opportunities": {"opportunity_id", "account_id", "created_at", "amount"},
    "opportunity_contacts": {"opportunity_id", "contact_id"},
    "forecasts": {"rep_id", "period", "submitted_at", "amount"},
    "experiments": {"experiment_id", "unit_type", "unit_id", "arm"},
}


def test_every_contract_table_with_its_required_columns():
    assert set(schema.TABLES) == set(CONTRACT_REQUIRED)
    for name, required in CONTRACT_REQUIRED.items():
        assert set(schema.TABLES[name].required) == required, name


def test_keys_are_columns_and_references_resolve():
    for t in schema.TABLES.values():
        for k in t.key:
            t.column(k)
        for c in t.columns:
            if c.references:
                ref_table, ref_col = c.references
                assert ref_col in schema.TABLES[ref_table].key


def test_load_order_puts_referenced_tables_first():
    order = {name: i for i, name in enumerate(schema.LOAD_ORDER)}
    assert set(order) == set(schema.TABLES)
    for t in schema.TABLES.values():
        for c in t.columns:
            if (
                c.references
                and c.references[0] != t.name
                and t.name != "activities"
                and c.references[0] != "leads"
            ):
                assert order[c.references[0]] < order[t.name], (t.name, c.name)


@pytest.mark.parametrize("name", list(schema.TABLES))
def test_ddl_creates_the_table_with_every_column(name):
    con = duckdb.connect()
    con.execute(schema.ddl(schema.TABLES[name]))
    cols = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
    assert cols == schema.TABLES[name].column_names


def test_markdown_table_marks_required_columns_bold():
    md = schema.markdown_table()
    assert "| opportunities | opportunity_id | **opportunity_id**, **account_id**, **created_at**" in md
    assert "team (SDR, AE, AM, other)" not in md  # team is required → bold
    assert "**team** (SDR, AE, AM, other)" in md
