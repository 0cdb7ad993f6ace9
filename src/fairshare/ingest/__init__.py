"""Getting data in: canonical files (CSV/Parquet), validated whole, written atomically."""

from fairshare.ingest.canonical import import_folder, validate_folder
from fairshare.ingest.problems import ImportFailed, ImportReport, Problem

__all__ = ["ImportFailed", "ImportReport", "Problem", "import_folder", "validate_folder"]
