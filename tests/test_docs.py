"""Docs that run: the import-format table in docs/ is the one the schema generates."""

from pathlib import Path

from fairshare import schema

ROOT = Path(__file__).resolve().parents[1]


def test_import_doc_table_is_generated_from_the_schema():
    text = (ROOT / "docs" / "import.md").read_text()
    start = text.index("-->\n", text.index("<!-- generated")) + 4
    end = text.index("<!-- end generated -->")
    assert text[start:end].strip() == schema.markdown_table()


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    code = block.replace('"exports/"', repr(str(ROOT / "examples" / "tiny")))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    result = scope["MarkovAttribution"](order=2).fit(scope["paths"](scope["ws"])).result_
    assert {"key", "conversions", "revenue", "share", "ci_low", "ci_high"} <= set(result.columns)
    assert abs(result["conversions"].sum() - 1.0) < 1e-9  # examples/tiny has one won opportunity
    scope["ws"].close()
