"""The importer: counts, idempotence, upserts, extra columns, and every kind of bad input."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fairshare import Workspace
from fairshare.ingest import ImportFailed, validate_folder

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"


def csv_rows(folder: Path) -> dict[str, int]:
    return {p.stem: len(pd.read_csv(p)) for p in folder.glob("*.csv")}


def snapshot(ws: Workspace) -> str:
    """A hash of every canonical table's sorted contents: equal hashes = warehouse unchanged."""
    h = hashlib.sha256()
    for name, n in ws.status()["tables"].items():
        frame = ws.table(name).execute()
        h.update(name.encode())
        h.update(frame.sort_values(list(frame.columns)).to_csv(index=False).encode() if n else b"")
    return h.hexdigest()


@pytest.fixture
def tiny(tmp_path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "tiny"))


@pytest.fixture
def ws(tmp_path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def test_import_counts_equal_csv_rows_and_reimport_changes_nothing(ws, tiny):
    ws.import_(tiny)
    counts = {k: v for k, v in ws.status()["tables"].items() if v}
    assert counts == csv_rows(tiny)
    before = snapshot(ws)
    ws.import_(tiny)
    assert {k: v for k, v in ws.status()["tables"].items() if v} == csv_rows(tiny)
    assert snapshot(ws) == before


def test_values_are_typed_and_times_are_utc(ws, tiny):
    ws.import_(tiny)
    opps = ws.table("opportunities").execute().set_index("opportunity_id")
    assert opps.loc["O1", "amount"] == 48000.0
    assert bool(opps.loc["O1", "is_won"]) is True and bool(opps.loc["O2", "is_closed"]) is False
    acc = ws.table("accounts").execute().set_index("account_id")
    assert acc.loc["A2", "created_at"] == pd.Timestamp("2026-01-10 08:00:00")  # 'Z' → UTC
    assert acc.loc["A1", "created_at"] == pd.Timestamp("2026-01-05 00:00:00")  # date alone
    assert acc.loc["A1", "employees"] == 250


def test_newer_row_replaces_older_and_extra_columns_are_kept(ws, tiny, tmp_path):
    ws.import_(tiny)
    update = tmp_path / "update"
    update.mkdir()
    (update / "accounts.csv").write_text(
        "account_id,name,industry,employees,annual_revenue,region,created_at,Tech Stack\n"
        "A1,Acme Corp,software,300,41000000,EMEA,2026-01-05,hubspot\n"
        "A4,Umbrella,pharma,5000,,NA,2026-03-01T10:00:00+02:00,\n"
    )
    (update / "opportunities.csv").write_text(
        "opportunity_id,account_id,created_at,amount\nO9,A4,2026-03-02,1000\n"
    )
    (update / "touches.csv").write_text("touch_id,at,account_id,channel\nT9,2026-03-01,A4,events\n")
    ws.import_(update)
    acc = ws.table("accounts").execute().set_index("account_id")
    assert len(acc) == 4
    assert acc.loc["A1", "employees"] == 300
    assert acc.loc["A1", "tech_stack"] == "hubspot"
    assert pd.isna(acc.loc["A2", "tech_stack"])
    assert acc.loc["A4", "created_at"] == pd.Timestamp("2026-03-01 08:00:00")  # +02:00 → UTC


def test_references_may_resolve_in_the_warehouse(ws, tiny, tmp_path):
    ws.import_(tiny)
    more = tmp_path / "more"
    more.mkdir()
    (more / "accounts.csv").write_text("account_id\nA5\n")
    (more / "opportunities.csv").write_text(
        "opportunity_id,account_id,created_at,amount,owner_rep_id\nO7,A1,2026-04-01,10,R2\n"
    )
    (more / "activities.csv").write_text(
        "activity_id,at,rep_id,opportunity_id,kind\nX9,2026-04-02,R1,O7,call\n"
    )
    report = ws.import_(more)
    assert report.ok and ws.status()["tables"]["opportunities"] == 3


def test_real_world_csv_quirks(ws, tiny):
    # BOM, CRLF, header case and spaces, quoted commas and newlines, ';' delimiter.
    (tiny / "contacts.csv").write_bytes(
        b'\xef\xbb\xbf Contact ID ;ACCOUNT_ID;Title\r\nC1;A1;"VP; Marketing"\r\nC2;A1;"two\r\nlines"\r\n'
        b"C3;A2;CFO\r\nC4;A3;Head of Sales\r\n"
    )
    ws.import_(tiny)
    contacts = ws.table("contacts").execute().set_index("contact_id")
    assert contacts.loc["C1", "title"] == "VP; Marketing"
    assert contacts.loc["C2", "title"] == "two\r\nlines"


def test_parquet_files_import_like_csv(ws, tiny):
    for name in ("touches", "accounts"):
        frame = pd.read_csv(tiny / f"{name}.csv")
        (tiny / f"{name}.csv").unlink()
        frame.to_parquet(tiny / f"{name}.parquet", index=False)
    ws.import_(tiny)
    assert ws.status()["tables"]["touches"] == 5
    assert ws.table("touches").execute().set_index("touch_id").loc["T1", "cost"] == 4.2


BAD_CASES = {
    # file, mutation, expected problem line (exact)
    "missing required column": (
        "spend.csv",
        lambda t: (
            t.replace("date,channel,campaign_id,amount", "date,campaign_id,amount")
            .replace(",paid_search,K1,", ",K1,")
            .replace(",webinar,K2,", ",K2,")
        ),
        "spend.csv:1: channel: required column missing; the file has: date, campaign_id, amount",
    ),
    "non-numeric amount": (
        "opportunities.csv",
        lambda t: t.replace(",proposal,15000,", ",proposal,15k,"),
        "opportunities.csv:3: amount: not a number: '15k'",
    ),
    "negative amount": (
        "opportunities.csv",
        lambda t: t.replace(",proposal,15000,", ",proposal,-15000,"),
        "opportunities.csv:3: amount: negative amount -15000 (must be ≥ 0)",
    ),
    "unparseable timestamp": (
        "touches.csv",
        lambda t: t.replace("T4,2026-02-16T09:00:00Z", "T4,16/02/2026 9am"),
        "touches.csv:5: at: not an ISO-8601 timestamp: '16/02/2026 9am' (day/month order is ambiguous; "
        "write dates as YYYY-MM-DD, e.g. 2026-03-01 or 2026-03-01T09:30:00Z)",
    ),
    "conflicting duplicate key": (
        "campaigns.csv",
        lambda t: t + "K1,Q1 search v2,paid_search,2026-01-01,2026-03-31,35000\n",
        "campaigns.csv:4: campaign_id: duplicate key with different values than the row at line 2; keep one version",
    ),
    "dangling foreign key": (
        "activities.csv",
        lambda t: t.replace("X5,2026-03-01T10:00:00Z,R0", "X5,2026-03-01T10:00:00Z,R42"),
        "activities.csv:6: rep_id: unknown rep 'R42': not in reps (this import or the warehouse)",
    ),
    "unknown enum value": (
        "reps.csv",
        lambda t: t.replace("R1,Sam Diaz,SDR", "R1,Sam Diaz,BDR"),
        "reps.csv:3: team: unknown value 'BDR'; allowed: SDR, AE, AM, other",
    ),
    "empty file": (
        "forecasts.csv",
        lambda t: "",
        "forecasts.csv: file is empty; expected a header line naming the columns (rep_id, period, submitted_at, amount are required) and one row per forecast",
    ),
    "quoted newline shifts editor lines": (
        "contacts.csv",
        lambda t: t.replace("C2,A1,Marketing Ops Manager", 'C2,A1,"Marketing\nOps Manager"').replace(
            "C4,A3", "C4,A404"
        ),
        "contacts.csv:6: account_id: unknown account 'A404': not in accounts (this import or the warehouse)",
    ),
    "one of contact or account": (
        "touches.csv",
        lambda t: t.replace("T5,2026-02-20T09:00:00Z,,A3", "T5,2026-02-20T09:00:00Z,,"),
        "touches.csv:6: contact_id: needs at least one of contact_id, account_id",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_each_bad_input_is_reported_as_file_line_column_why(ws, tiny, case):
    file, mutate, expected = BAD_CASES[case]
    path = tiny / file
    path.write_text(mutate(path.read_text() if path.exists() else ""))
    ws.import_(TINY)  # an earlier good import must survive the failed one
    before = snapshot(ws)
    with pytest.raises(ImportFailed) as err:
        ws.import_(tiny)
    lines = [str(p) for p in err.value.report.problems]
    assert expected in lines, lines
    assert snapshot(ws) == before


def test_all_problems_of_all_files_are_listed_at_once(ws, tiny):
    for case in ("non-numeric amount", "dangling foreign key", "empty file", "unknown enum value"):
        file, mutate, _ = BAD_CASES[case]
        path = tiny / file
        path.write_text(mutate(path.read_text() if path.exists() else ""))
    report = validate_folder(tiny)
    assert {p.file for p in report.problems} == {
        "opportunities.csv",
        "activities.csv",
        "forecasts.csv",
        "reps.csv",
    }
    assert ws.status()["tables"]["accounts"] == 0


def test_problem_list_is_capped_per_file_but_counted(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "account_id,employees\n" + "".join(f"A{i},lots\n" for i in range(120))
    )
    (folder / "opportunities.csv").write_text("opportunity_id,account_id,created_at,amount\n")
    (folder / "touches.csv").write_text("touch_id,at,account_id,channel\n")
    report = validate_folder(folder)
    assert len([p for p in report.problems if p.file == "accounts.csv"]) == 50
    assert report.truncated["accounts.csv"] == 70
    assert str(report.problems[0]) == "accounts.csv:2: employees: not a number: 'lots'"


def test_missing_required_tables_and_unknown_files(tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "accounts.csv").write_text("account_id\nA1\n")
    (folder / "notes.txt").write_text("hello")
    report = validate_folder(folder)
    reasons = [p.reason for p in report.problems]
    assert "missing required table 'opportunities' (opportunities.csv or opportunities.parquet)" in reasons
    assert "needs touches or activities (at least one of them)" in reasons
    assert any("notes.txt: ignored" in w for w in report.warnings)


def test_parquet_problems_are_reported_by_row(ws, tiny):
    frame = pd.read_csv(tiny / "touches.csv")
    frame.loc[2, "kind"] = "telepathy"
    (tiny / "touches.csv").unlink()
    frame.to_parquet(tiny / "touches.parquet", index=False)
    with pytest.raises(ImportFailed) as err:
        ws.import_(tiny)
    assert any(
        str(p).startswith("touches.parquet:row 3: kind: unknown value 'telepathy'")
        for p in err.value.report.problems
    )
