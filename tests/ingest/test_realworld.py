"""Real-world exports: encodings, CSV shapes, value formats, key quirks, Parquet types, folders.

Each case is a file we have seen break importers; every problem must read `file:line: column: why`
with a hint of what to do, and nothing may be stored half-right.
"""

import gzip
import hashlib
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fairshare import Workspace
from fairshare.ingest import ImportFailed, validate_folder

ACCOUNTS = "account_id,name,employees\nA1,Acme,10\nA2,Globex,20\n"
OPPS = "opportunity_id,account_id,created_at,amount,is_won\nO1,A1,2026-01-02,100,true\nO2,A2,2026-01-03,50,false\n"
TOUCHES = "touch_id,at,account_id,channel\nT1,2026-01-01T10:00:00Z,A1,email\n"


def make(folder: Path, **files: str | bytes | None) -> Path:
    """A minimal valid folder (accounts, opportunities, touches) with `files` replaced/added/removed."""
    folder.mkdir(parents=True, exist_ok=True)
    base: dict[str, str | bytes | None] = {
        "accounts.csv": ACCOUNTS,
        "opportunities.csv": OPPS,
        "touches.csv": TOUCHES,
    }
    for name, data in (base | {k.replace("__", "."): v for k, v in files.items()}).items():
        if data is None:
            continue
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return folder


def problems(folder: Path) -> list[str]:
    return [str(p) for p in validate_folder(folder).problems]


def one_problem(folder: Path) -> str:
    found = problems(folder)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def ws(tmp_path):
    w = Workspace.init(tmp_path / "ws")
    yield w
    w.close()


def rows(ws: Workspace, sql: str) -> list[tuple]:
    return ws.con.raw_sql(sql).fetchall()


def contents(ws: Workspace) -> str:
    """Every canonical table's full contents (all columns, sorted): equal = nothing changed."""
    h = hashlib.sha256()
    for name in ws.status()["tables"]:
        h.update(name.encode())
        h.update(repr(sorted(map(repr, rows(ws, f'SELECT * FROM "{name}"')))).encode())
    return h.hexdigest()


# --- encodings ----------------------------------------------------------------------------------


def test_utf8_bom_is_ignored(ws, tmp_path):
    ws.import_(make(tmp_path / "in", accounts__csv=b"\xef\xbb\xbf" + ACCOUNTS.encode()))
    assert rows(ws, "SELECT account_id FROM accounts ORDER BY 1") == [("A1",), ("A2",)]


def test_latin1_file_is_a_clear_error_with_the_line(tmp_path):
    data = (ACCOUNTS + "A3,Soci\xe9t\xe9 G\xe9n\xe9rale,5\n").encode("latin-1")
    found = problems(make(tmp_path / "in", accounts__csv=data))
    assert found == [
        "accounts.csv:4: not UTF-8 (byte 0xe9 at line 4); re-export the file as UTF-8 (CSV UTF-8)"
    ]


def test_utf16_file_is_a_clear_error(tmp_path):
    data = ACCOUNTS.replace(",", "\t").encode("utf-16")
    msg = one_problem(make(tmp_path / "in", accounts__csv=data))
    assert msg.startswith("accounts.csv: file is UTF-16") and "re-export the file as UTF-8" in msg


def test_unreadable_file_does_not_cascade_into_reference_errors(tmp_path):
    data = ACCOUNTS.encode("utf-16")
    found = problems(make(tmp_path / "in", accounts__csv=data))
    assert [p.split(":")[0] for p in found] == ["accounts.csv"], found


# --- CSV shape ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            ACCOUNTS + "A3,x,1,extra\n",
            "accounts.csv:4: line has 4 fields, the header has 3; quote values that contain ','",
        ),
        (
            ACCOUNTS + "A3\nA4,y,2\n",
            "accounts.csv:4: line has 1 field, the header has 3; quote values that contain ','",
        ),
        (
            'account_id,name,employees\nA1,"two\nlines",1\nA2,x,1,2\n',
            "accounts.csv:4: line has 4 fields, the header has 3; quote values that contain ','",
        ),
        (
            'account_id,name,employees\nA1,x,1\nA2,"Acme, Inc,2\nA3,y,3\n',
            'accounts.csv:3: a quote (") opened here is never closed; close it, or double quotes inside values ("")',
        ),
        (
            'account_id,name,employees\nA1,x,1\nA2,"Acme" Inc,2\n',
            "accounts.csv:3: text after a closing quote; quote the whole value and double the quotes inside it "
            '("say ""hi""")',
        ),
    ],
    ids=["too many", "too few", "after quoted newline", "unterminated quote", "text after quote"],
)
def test_bad_csv_shape_names_the_line(tmp_path, body, expected):
    assert one_problem(make(tmp_path / "in", accounts__csv=body)) == expected


def test_unquoted_thousands_separator_is_a_field_count_error_not_a_misread(tmp_path):
    body = "opportunity_id,account_id,created_at,amount\nO1,A1,2026-01-02,$48,000\nO2,A2,2026-01-03,5\n"
    assert one_problem(make(tmp_path / "in", opportunities__csv=body)) == (
        "opportunities.csv:2: line has 5 fields, the header has 4; quote values that contain ','"
    )


def test_header_only_is_zero_rows_and_blank_lines_are_skipped(ws, tmp_path):
    folder = make(
        tmp_path / "in",
        accounts__csv="\n" + ACCOUNTS.replace("A2,", "\n\nA2,") + "\n\n",
        spend__csv="date,channel,campaign_id,amount\n",
    )
    report = ws.import_(folder)
    assert report.rows["spend"] == 0 and report.rows["accounts"] == 2


def test_blank_lines_do_not_shift_reported_lines(tmp_path):
    body = "account_id,name,employees\n\nA1,x,1\n\n\nA2,y,lots\n\n"
    assert (
        one_problem(make(tmp_path / "in", accounts__csv=body))
        == "accounts.csv:6: employees: not a number: 'lots'"
    )


def test_trailing_delimiter_adds_no_column(ws, tmp_path):
    body = "".join(line + ",\n" for line in ACCOUNTS.splitlines())
    ws.import_(make(tmp_path / "in", accounts__csv=body))
    assert [c for c in ws.table("accounts").columns if c.startswith("column")] == []
    assert rows(ws, "SELECT employees FROM accounts ORDER BY 1") == [(10,), (20,)]


def test_unnamed_column_with_values_is_an_error(tmp_path):
    body = "account_id,,employees\nA1,q,1\nA2,,2\n"
    assert one_problem(make(tmp_path / "in", accounts__csv=body)) == (
        "accounts.csv:1: column 2: has no name but holds values; name it in the header or delete it"
    )


def test_duplicate_header_names_are_an_error(tmp_path):
    body = "account_id,name,Name\nA1,x,y\nA2,y,z\n"
    assert one_problem(make(tmp_path / "in", accounts__csv=body)) == (
        "accounts.csv:1: Name: column appears twice (as 'name' and 'Name'); keep one"
    )


def test_cr_only_line_endings_and_tsv_and_txt(ws, tmp_path):
    folder = make(
        tmp_path / "in",
        accounts__csv=None,
        accounts__tsv="account_id\tname\tnotes\rA1\tAcme, Inc\tx\rA2\tGlobex\t\r",
        touches__csv=None,
        touches__txt=TOUCHES.replace(",", "\t"),
    )
    ws.import_(folder)
    assert rows(ws, "SELECT name FROM accounts ORDER BY 1") == [("Acme, Inc",), ("Globex",)]
    assert rows(ws, "SELECT count(*) FROM touches") == [(1,)]


def test_semicolon_file_with_decimal_commas_is_not_a_number_with_a_hint(tmp_path):
    body = "opportunity_id;account_id;created_at;amount\nO1;A1;2026-01-02;1,5\nO2;A2;2026-01-03;2\n"
    assert one_problem(make(tmp_path / "in", opportunities__csv=body)) == (
        "opportunities.csv:2: amount: not a number: '1,5'; write plain numbers with '.' for decimals, "
        "no thousands separators or currency symbols (e.g. 1234.5)"
    )


def test_whitespace_quotes_and_very_long_text(ws, tmp_path):
    long_name = "x" * 3_000_000
    body = f' account_id , Name ,EMPLOYEES\n " A1 " ,{long_name}, "10" \nA2,y, 20 \n'
    ws.import_(make(tmp_path / "in", accounts__csv=body))
    assert rows(ws, "SELECT account_id, length(name), employees FROM accounts ORDER BY 1") == [
        ("A1", 3_000_000, 10),
        ("A2", 1, 20),
    ]


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2026-01-02T10:00:00.000+0000", "2026-01-02 10:00:00"),  # Salesforce
        ("2026-01-02 10:00", "2026-01-02 10:00:00"),  # HubSpot
        ("2026-01-02T11:00:00+01:00", "2026-01-02 10:00:00"),
        ("2026-01-02", "2026-01-02 00:00:00"),
    ],
)
def test_crm_timestamps(ws, tmp_path, value, stored):
    ws.import_(make(tmp_path / "in", opportunities__csv=OPPS.replace("2026-01-02", value)))
    assert rows(ws, "SELECT CAST(created_at AS VARCHAR) FROM opportunities WHERE opportunity_id = 'O1'") == [
        (stored,)
    ]


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("1/2/2026 10:00", "day/month order is ambiguous; write dates as YYYY-MM-DD"),
        ("02.01.2026", "day/month order is ambiguous; write dates as YYYY-MM-DD"),
        ("1767348000", "looks like Unix epoch seconds; write ISO-8601 instead"),
        ("infinity", "e.g. 2026-03-01 or 2026-03-01T09:30:00Z"),
    ],
)
def test_non_iso_timestamps_are_errors_with_a_hint(tmp_path, value, hint):
    msg = one_problem(make(tmp_path / "in", opportunities__csv=OPPS.replace("2026-01-02", value)))
    assert msg.startswith(f"opportunities.csv:2: created_at: not an ISO-8601 timestamp: '{value}'"), msg
    assert hint in msg


@pytest.mark.parametrize("marker", ["NULL", "null", "N/A", "NA", "#N/A", "None", "NaN"])
def test_null_markers_in_typed_columns_are_missing_values(ws, tmp_path, marker):
    accounts = ACCOUNTS.replace("A1,Acme,10", f"A1,{marker},{marker}")
    opps = OPPS.replace("100,true", f"100,{marker}")
    ws.import_(make(tmp_path / "in", accounts__csv=accounts, opportunities__csv=opps))
    assert rows(ws, "SELECT name, employees FROM accounts WHERE account_id = 'A1'") == [(marker, None)]
    assert rows(ws, "SELECT is_won FROM opportunities WHERE opportunity_id = 'O1'") == [(None,)]


def test_null_marker_in_a_required_column_is_missing(tmp_path):
    assert one_problem(make(tmp_path / "in", opportunities__csv=OPPS.replace(",100,", ",NULL,"))) == (
        "opportunities.csv:2: amount: required value is missing"
    )


def test_booleans(ws, tmp_path):
    body = "opportunity_id,account_id,created_at,amount,is_won,is_closed\n" + "".join(
        f"O{i},A1,2026-01-01,1,{v},{v}\n" for i, v in enumerate(["TRUE", "False", "1", "0", "yes", "N"])
    )
    ws.import_(make(tmp_path / "in", opportunities__csv=body))
    got = [r[0] for r in rows(ws, "SELECT is_won FROM opportunities ORDER BY opportunity_id")]
    assert got == [True, False, True, False, True, False]


@pytest.mark.parametrize("value", ["$48000", "48,000", "€100", "100 USD", "1.234,50"])
def test_currency_and_thousands_are_errors_with_a_hint(tmp_path, value):
    msg = one_problem(make(tmp_path / "in", opportunities__csv=OPPS.replace(",100,", f',"{value}",')))
    assert msg == (
        f"opportunities.csv:2: amount: not a number: '{value}'; write plain numbers with '.' for decimals, "
        "no thousands separators or currency symbols (e.g. 1234.5)"
    )


def test_scientific_large_and_negative_zero_amounts(ws, tmp_path):
    body = OPPS.replace(",100,", ",1.5E+3,").replace(",50,", ",-0,")
    accounts = ACCOUNTS.replace("A1,Acme,10", "A1,Acme,1e3")
    ws.import_(make(tmp_path / "in", opportunities__csv=body, accounts__csv=accounts))
    got = rows(ws, "SELECT amount, CAST(amount AS VARCHAR) FROM opportunities ORDER BY opportunity_id")
    assert got == [(1500.0, "1500.0"), (0.0, "0.0")]
    assert rows(ws, "SELECT employees FROM accounts WHERE account_id = 'A1'") == [(1000,)]


def test_integer_too_large_is_an_error_not_a_crash(tmp_path):
    accounts = ACCOUNTS.replace("A1,Acme,10", "A1,Acme,99999999999999999999999")
    assert one_problem(make(tmp_path / "in", accounts__csv=accounts)) == (
        "accounts.csv:2: employees: number too large: '99999999999999999999999'"
    )


# --- keys ---------------------------------------------------------------------------------------


def test_keys_are_trimmed_consistently_for_duplicates_and_references(ws, tmp_path):
    accounts = ACCOUNTS + " A1 ,Acme,10\n"  # same key and values once trimmed: merged
    opps = OPPS.replace("O1,A1,", " O1 , A1 ,")
    ws.import_(make(tmp_path / "in", accounts__csv=accounts, opportunities__csv=opps))
    assert rows(ws, "SELECT account_id, count(*) FROM accounts GROUP BY 1 ORDER BY 1") == [
        ("A1", 1),
        ("A2", 1),
    ]
    assert rows(ws, "SELECT opportunity_id, account_id FROM opportunities ORDER BY 1")[0] == ("O1", "A1")


def test_exact_repeated_rows_are_merged(ws, tmp_path):
    ws.import_(make(tmp_path / "in", accounts__csv=ACCOUNTS + "A1,Acme,10\n"))
    assert rows(ws, "SELECT account_id, count(*) FROM accounts GROUP BY 1 ORDER BY 1") == [
        ("A1", 1),
        ("A2", 1),
    ]


def test_trimmed_duplicate_key_with_other_values_is_a_conflict(tmp_path):
    accounts = ACCOUNTS + " A1 ,Other,10\n"
    assert one_problem(make(tmp_path / "in", accounts__csv=accounts)) == (
        "accounts.csv:4: account_id: duplicate key with different values than the row at line 2; keep one version"
    )


def test_ids_stay_case_sensitive_strings(ws, tmp_path):
    accounts = "account_id,name\n001,zero-one\n1,one\nA1,x\nA2,y\n"
    opps = OPPS + "O3,1,2026-01-01,1,\nO4,a1,2026-01-01,1,\n"
    found = problems(make(tmp_path / "in", accounts__csv=accounts, opportunities__csv=opps))
    assert found == [
        "opportunities.csv:5: account_id: unknown account 'a1': not in accounts (this import or the warehouse)"
    ]
    ws.import_(
        make(tmp_path / "ok", accounts__csv=accounts, opportunities__csv=OPPS + "O3,001,2026-01-01,1,\n")
    )
    assert rows(ws, "SELECT account_id FROM opportunities WHERE opportunity_id = 'O3'") == [("001",)]
    assert rows(ws, "SELECT count(*) FROM accounts") == [(4,)]


def test_reference_message_names_the_entity_in_singular(tmp_path):
    activities = "activity_id,at,rep_id,opportunity_id,kind\nX1,2026-01-01,R1,O9,call\n"
    folder = make(
        tmp_path / "in", touches__csv=None, activities__csv=activities, reps__csv="rep_id,team\nR1,AE\n"
    )
    assert one_problem(folder) == (
        "activities.csv:2: opportunity_id: unknown opportunity 'O9': not in opportunities (this import or the warehouse)"
    )


# --- Parquet ------------------------------------------------------------------------------------


def write_parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path)


def test_parquet_typed_columns(ws, tmp_path):
    folder = make(tmp_path / "in", opportunities__csv=None)
    # 1767351600 s = 2026-01-02 11:00 UTC (12:00 in Paris): stored as naive UTC.
    at = pa.array([1767351600_000_000, None], pa.timestamp("us", tz="Europe/Paris"))
    write_parquet(folder / "opportunities.parquet", pa.table({
        "opportunity_id": ["O1", "O2"],
        "account_id": pa.array(["A1", "A2"]).dictionary_encode(),
        "created_at": pa.array([1767351600_000_000, 1767351600_000_000], pa.timestamp("us", tz="Europe/Paris")),
        "closed_at": at,
        "amount": pa.array([100, 5], pa.int64()),
        "is_won": pa.array([True, None]),
    }))  # fmt: skip
    ws.import_(folder)
    got = rows(ws, "SELECT opportunity_id, account_id, CAST(created_at AS VARCHAR), closed_at, amount, is_won "
                   "FROM opportunities ORDER BY 1")  # fmt: skip
    noon = datetime(2026, 1, 2, 11, 0)
    assert got == [
        ("O1", "A1", "2026-01-02 11:00:00", noon, 100.0, True),
        ("O2", "A2", "2026-01-02 11:00:00", None, 5.0, None),
    ]


def test_parquet_string_amount_with_bad_values(tmp_path):
    folder = make(tmp_path / "in", opportunities__csv=None)
    write_parquet(folder / "opportunities.parquet", pa.table({
        "opportunity_id": ["O1", "O2"], "account_id": ["A1", "A2"], "created_at": ["2026-01-01", "2026-01-02"],
        "amount": ["100", "lots"],
    }))  # fmt: skip
    assert one_problem(folder).startswith("opportunities.parquet:row 2: amount: not a number: 'lots'")


def test_parquet_nested_canonical_column_is_an_error_and_nested_extras_are_json(ws, tmp_path):
    folder = make(tmp_path / "in", opportunities__csv=None)
    base = {"opportunity_id": ["O1", "O2"], "created_at": ["2026-01-01", "2026-01-02"], "amount": [1.0, 2.0]}
    write_parquet(folder / "opportunities.parquet", pa.table(base | {"account_id": [["A1"], ["A2"]]}))
    assert one_problem(folder) == (
        "opportunities.parquet: account_id: nested Parquet type VARCHAR[] cannot be read as text; "
        "write it as a plain column"
    )
    write_parquet(
        folder / "opportunities.parquet",
        pa.table(base | {"account_id": ["A1", "A2"], "meta": [{"a": 1}, {"a": 2}]}),
    )
    ws.import_(folder)
    assert rows(ws, "SELECT meta FROM opportunities ORDER BY opportunity_id") == [('{"a":1}',), ('{"a":2}',)]


def test_parquet_repeated_key(tmp_path):
    folder = make(tmp_path / "in", opportunities__csv=None)
    write_parquet(folder / "opportunities.parquet", pa.table({
        "opportunity_id": ["O1", "O1"], "account_id": ["A1", "A1"], "created_at": ["2026-01-01"] * 2,
        "amount": [1.0, 2.0],
    }))  # fmt: skip
    assert one_problem(folder) == (
        "opportunities.parquet:row 2: opportunity_id: duplicate key with different values than the row at row 1; "
        "keep one version"
    )


def test_corrupt_parquet_is_one_clear_problem(tmp_path):
    folder = make(tmp_path / "in", opportunities__csv=None, opportunities__parquet=b"PAR1garbage")
    msg = one_problem(folder)
    assert msg.startswith("opportunities.parquet: cannot be read as Parquet") and "\n" not in msg


# --- folder -------------------------------------------------------------------------------------


def test_uppercase_names_gzip_and_subfolders(ws, tmp_path):
    folder = make(tmp_path / "in", accounts__csv=None, touches__csv=None)
    (folder / "Accounts.CSV").write_text(ACCOUNTS)
    (folder / "touches.csv.gz").write_bytes(gzip.compress(TOUCHES.encode()))
    (folder / "old").mkdir()
    (folder / "old" / "accounts.csv").write_text("garbage")
    report = ws.import_(folder)
    assert report.rows == {"accounts": 2, "opportunities": 2, "touches": 1}
    assert any("old: ignored (subfolder" in w for w in report.warnings), report.warnings


def test_gzip_problem_lines(tmp_path):
    folder = make(tmp_path / "in", touches__csv=None)
    (folder / "touches.csv.gz").write_bytes(gzip.compress((TOUCHES + "T2,someday,A1,email\n").encode()))
    assert one_problem(folder).startswith("touches.csv.gz:3: at: not an ISO-8601 timestamp: 'someday'")


def test_csv_and_parquet_for_one_table_is_an_error(tmp_path):
    folder = make(tmp_path / "in")
    write_parquet(folder / "accounts.parquet", pa.table({"account_id": ["A1"]}))
    assert one_problem(folder) == (
        "accounts.parquet: two files for table 'accounts' (accounts.csv and accounts.parquet); keep one"
    )


def test_symlinks_are_followed_and_broken_ones_reported(ws, tmp_path):
    src = make(tmp_path / "src")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("accounts.csv", "opportunities.csv", "touches.csv"):
        (folder / name).symlink_to(src / name)
    ws.import_(folder)
    assert rows(ws, "SELECT count(*) FROM accounts") == [(2,)]
    (folder / "contacts.csv").symlink_to(tmp_path / "nowhere.csv")
    assert one_problem(folder).startswith("contacts.csv: cannot be read: broken link")


# --- import semantics ---------------------------------------------------------------------------


def test_subset_import_references_existing_rows_and_identical_reimport_changes_nothing(ws, tmp_path):
    ws.import_(make(tmp_path / "full"))
    subset = tmp_path / "subset"
    subset.mkdir()
    (subset / "touches.csv").write_text("touch_id,at,account_id,channel\n T2 ,2026-01-05, A2 ,email\n")
    ws.import_(subset)
    assert rows(ws, "SELECT touch_id, account_id FROM touches ORDER BY 1") == [("T1", "A1"), ("T2", "A2")]
    before = contents(ws)
    ws.import_(subset)
    ws.import_(make(tmp_path / "full"))
    assert contents(ws) == before


def test_update_replaces_the_row_and_extra_columns_come_and_go(ws, tmp_path):
    ws.import_(make(tmp_path / "one", accounts__csv=ACCOUNTS.replace("employees", "employees,Tech Stack")
                    .replace(",10", ",10,hubspot").replace(",20", ",20,")))  # fmt: skip
    ws.import_(make(tmp_path / "two", accounts__csv="account_id,name,employees\nA1,Acme Corp,11\n"))
    got = rows(ws, "SELECT account_id, name, employees, tech_stack FROM accounts ORDER BY 1")
    assert got == [("A1", "Acme Corp", 11, None), ("A2", "Globex", 20, None)]


def test_extra_column_with_quotes_in_its_name_is_kept(ws, tmp_path):
    ws.import_(make(tmp_path / "in", accounts__csv='account_id,"Tech ""Stack"""\nA1,hubspot\nA2,\n'))
    assert rows(ws, "SELECT account_id, tech_stack FROM accounts ORDER BY 1") == [
        ("A1", "hubspot"),
        ("A2", None),
    ]


def test_extra_column_colliding_with_a_canonical_one_is_an_error(tmp_path):
    body = "account_id,name,Account-ID\nA1,x,1\nA2,y,2\n"
    assert one_problem(make(tmp_path / "in", accounts__csv=body)) == (
        "accounts.csv:1: Account-ID: column appears twice (as 'account_id' and 'Account-ID'); keep one"
    )


def test_failed_import_raises_import_failed_never_a_raw_error(ws, tmp_path):
    folder = make(tmp_path / "in", accounts__csv=ACCOUNTS.encode("utf-16"))
    with pytest.raises(ImportFailed):
        ws.import_(folder)


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    folder = make(tmp_path / "in", accounts__csv=None)
    (folder / "accounts.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-gzip")
    msg = one_problem(folder)
    assert msg.startswith("accounts.csv.gz: cannot be read: "), msg


def test_crm_export_in_latin1_is_a_clear_mapping_error(ws, tmp_path):
    from fairshare.ingest.mappings import MappingError

    export = tmp_path / "export"
    export.mkdir()
    (export / "Account.csv").write_bytes("Id,Name\n0011,Soci\xe9t\xe9\n".encode("latin-1"))
    with pytest.raises(MappingError) as err:
        ws.import_(export, mapping="salesforce")
    assert (
        str(err.value)
        == "Account.csv:2: not UTF-8 (byte 0xe9 at line 2); re-export the file as UTF-8 (CSV UTF-8)"
    )


def test_crm_export_with_a_broken_row_names_the_line(ws, tmp_path):
    from fairshare.ingest.mappings import MappingError

    export = tmp_path / "export"
    export.mkdir()
    (export / "Account.csv").write_text("Id,Name\n0011,Acme\n0012,Globex, Inc\n")
    with pytest.raises(MappingError) as err:
        ws.import_(export, mapping="salesforce")
    assert (
        str(err.value) == "Account.csv:3: line has 3 fields, the header has 2; quote values that contain ','"
    )
