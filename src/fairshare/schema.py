"""The canonical tables of the import format (v1), defined once.

Everything else derives from these definitions: the importer's checks, the warehouse
DDL, the docs table and the simulator's writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DType = Literal["string", "timestamp", "date", "float", "int", "bool"]

#: DuckDB storage type for each logical type. Timestamps are stored as naive UTC.
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One column: its type, whether it is required, and the values it may take."""

    name: str
    dtype: DType = "string"
    required: bool = False
    enum: tuple[str, ...] | None = None
    non_negative: bool = False
    references: tuple[str, str] | None = None  # (table, column)
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One canonical table: its key, columns and the 'at least one of' column groups."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    one_of: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    doc: str = ""

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _money(name: str, required: bool = False, doc: str = "") -> Column:
    return Column(name, "float", required=required, non_negative=True, doc=doc or "money, workspace currency")


TEAMS = ("SDR", "AE", "AM", "other")
SOURCE_TEAMS = ("marketing", "sdr", "ae", "partner", "other")
TOUCH_KINDS = (
    "impression", "click", "visit", "form", "email_open", "email_click",
    "event", "webinar", "content", "ad", "other",
)  # fmt: skip
ACTIVITY_KINDS = ("call", "email", "meeting", "demo", "social", "other")
DIRECTIONS = ("outbound", "inbound")
PROSPECTING = ("cold_call", "referral", "event", "social", "other")
FORECAST_CATEGORIES = ("commit", "best_case", "pipeline")
UNIT_TYPES = ("lead", "account", "rep")
ENTITIES = ("lead", "opportunity")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            ("account_id",),
            (
                Column("account_id", required=True),
                Column("name"),
                Column("industry"),
                Column("employees", "int", non_negative=True),
                _money("annual_revenue"),
                Column("region"),
                Column("created_at", "timestamp"),
            ),
            doc="Companies you sell to.",
        ),
        Table(
            "contacts",
            ("contact_id",),
            (
                Column("contact_id", required=True),
                Column("account_id", required=True, references=("accounts", "account_id")),
                Column("title"),
                Column("persona"),
                Column("created_at", "timestamp"),
            ),
            doc="People at accounts.",
        ),
        Table(
            "reps",
            ("rep_id",),
            (
                Column("rep_id", required=True),
                Column("name"),
                Column("team", required=True, enum=TEAMS),
                Column("manager_id", references=("reps", "rep_id")),
                Column("region"),
                Column("hired_at", "timestamp"),
                _money("hourly_cost", doc="fully loaded cost of one hour of the rep's time"),
            ),
            doc="Sales people: SDRs, AEs, AMs.",
        ),
        Table(
            "campaigns",
            ("campaign_id",),
            (
                Column("campaign_id", required=True),
                Column("name"),
                Column("channel", required=True),
                Column("started_at", "timestamp"),
                Column("ended_at", "timestamp"),
                _money("budget"),
            ),
            doc="Marketing campaigns, each in one channel.",
        ),
        Table(
            "spend",
            ("date", "channel", "campaign_id"),
            (
                Column("date", "date", required=True),
                Column("channel", required=True),
                Column("campaign_id", references=("campaigns", "campaign_id")),
                _money("amount", required=True),
            ),
            doc="Media spend per day and channel (and campaign when known).",
        ),
        Table(
            "touches",
            ("touch_id",),
            (
                Column("touch_id", required=True),
                Column("at", "timestamp", required=True),
                Column("contact_id", references=("contacts", "contact_id")),
                Column("account_id", references=("accounts", "account_id")),
                Column("channel", required=True),
                Column("campaign_id", references=("campaigns", "campaign_id")),
                Column("kind", enum=TOUCH_KINDS),
                _money("cost"),
            ),
            one_of=(("contact_id", "account_id"),),
            doc="Marketing touches on contacts or accounts.",
        ),
        Table(
            "activities",
            ("activity_id",),
            (
                Column("activity_id", required=True),
                Column("at", "timestamp", required=True),
                Column("rep_id", required=True, references=("reps", "rep_id")),
                Column("contact_id", references=("contacts", "contact_id")),
                Column("lead_id", references=("leads", "lead_id")),
                Column("account_id", references=("accounts", "account_id")),
                Column("opportunity_id", references=("opportunities", "opportunity_id")),
                Column("kind", required=True, enum=ACTIVITY_KINDS),
                Column("direction", enum=DIRECTIONS),
                Column("outcome"),
                Column("duration_s", "float", non_negative=True),
                Column("prospecting", enum=PROSPECTING),
                Column("notes"),
            ),
            one_of=(("contact_id", "lead_id", "account_id", "opportunity_id"),),
            doc="Sales work: calls, emails, meetings, demos.",
        ),
        Table(
            "leads",
            ("lead_id",),
            (
                Column("lead_id", required=True),
                Column("created_at", "timestamp", required=True),
                Column("contact_id", references=("contacts", "contact_id")),
                Column("account_id", references=("accounts", "account_id")),
                Column("source_channel"),
                Column("source_team", enum=SOURCE_TEAMS),
                Column("campaign_id", references=("campaigns", "campaign_id")),
            ),
            doc="Leads and who sourced them.",
        ),
        Table(
            "lifecycle",
            ("entity", "entity_id", "stage", "at"),
            (
                Column("entity", required=True, enum=ENTITIES),
                Column("entity_id", required=True),
                Column("stage", required=True),
                Column("at", "timestamp", required=True),
                Column("reason"),
            ),
            doc="Stage changes of leads and opportunities.",
        ),
        Table(
            "opportunities",
            ("opportunity_id",),
            (
                Column("opportunity_id", required=True),
                Column("account_id", required=True, references=("accounts", "account_id")),
                Column("created_at", "timestamp", required=True),
                Column("owner_rep_id", references=("reps", "rep_id")),
                Column("lead_id", references=("leads", "lead_id")),
                Column("closed_at", "timestamp"),
                Column("stage"),
                _money("amount", required=True),
                Column("is_closed", "bool"),
                Column("is_won", "bool"),
                Column("source_team", enum=SOURCE_TEAMS),
            ),
            doc="Deals: pipeline and bookings.",
        ),
        Table(
            "opportunity_contacts",
            ("opportunity_id", "contact_id"),
            (
                Column("opportunity_id", required=True, references=("opportunities", "opportunity_id")),
                Column("contact_id", required=True, references=("contacts", "contact_id")),
                Column("role"),
            ),
            doc="Buying-committee members on deals.",
        ),
        Table(
            "forecasts",
            ("rep_id", "period", "submitted_at"),
            (
                Column("rep_id", required=True, references=("reps", "rep_id")),
                Column("period", required=True),
                Column("submitted_at", "timestamp", required=True),
                _money("amount", required=True),
                Column("category", enum=FORECAST_CATEGORIES),
            ),
            doc="What reps commit to book in a period.",
        ),
        Table(
            "experiments",
            ("experiment_id", "unit_id"),
            (
                Column("experiment_id", required=True),
                Column("unit_type", required=True, enum=UNIT_TYPES),
                Column("unit_id", required=True),
                Column("arm", required=True),
                Column("assigned_at", "timestamp"),
            ),
            doc="Randomized assignments of leads, accounts or reps to arms.",
        ),
    )
}

#: Tables an import must contain (touches or activities: at least one of them).
REQUIRED_TABLES = ("accounts", "opportunities")
REQUIRED_ONE_OF_TABLES = ("touches", "activities")

#: Order that respects foreign keys (referenced tables first).
LOAD_ORDER = (
    "accounts", "contacts", "reps", "campaigns", "spend", "leads", "opportunities",
    "touches", "activities", "lifecycle", "opportunity_contacts", "forecasts", "experiments",
)  # fmt: skip


def table(name: str) -> Table:
    """The canonical table called `name` (KeyError with the known names otherwise)."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


def ddl(t: Table, extra_columns: dict[str, str] | None = None) -> str:
    """CREATE TABLE statement for DuckDB (used by the warehouse; other backends go through Ibis schemas)."""
    cols = [f'"{c.name}" {DUCKDB_TYPES[c.dtype]}' for c in t.columns]
    cols += [f'"{n}" {ty}' for n, ty in (extra_columns or {}).items()]
    return f'CREATE TABLE IF NOT EXISTS "{t.name}" ({", ".join(cols)})'


def ibis_schema(t: Table) -> dict[str, str]:
    """Column name → Ibis type string for `t`."""
    mapping = {"string": "string", "timestamp": "timestamp", "date": "date", "float": "float64",
               "int": "int64", "bool": "boolean"}  # fmt: skip
    return {c.name: mapping[c.dtype] for c in t.columns}


def markdown_table() -> str:
    """The import format as a Markdown table (the docs are generated from the schema)."""
    lines = ["| table | key | columns (required in bold) |", "|---|---|---|"]
    for t in TABLES.values():
        cols = []
        for c in t.columns:
            label = f"**{c.name}**" if c.required else c.name
            if c.enum:
                label += f" ({', '.join(c.enum)})"
            cols.append(label)
        key = t.key[0] if len(t.key) == 1 else f"({', '.join(t.key)})"
        lines.append(f"| {t.name} | {key} | {', '.join(cols)} |")
    return "\n".join(lines)
