"""Docs that run: the import-format table in docs/ is the one the schema generates."""

from pathlib import Path

from fairshare import schema

ROOT = Path(__file__).resolve().parents[1]


def test_import_doc_table_is_generated_from_the_schema():
    text = (ROOT / "docs" / "import.md").read_text()
    start = text.index("-->\n", text.index("<!-- generated")) + 4
    end = text.index("<!-- end generated -->")
    assert text[start:end].strip() == schema.markdown_table()
