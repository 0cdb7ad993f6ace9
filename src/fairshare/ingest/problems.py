"""What an import found wrong, reported as `file:line: column: why`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One bad value, missing column or broken file.

    `line` is the line a text editor shows (header = line 1) for CSV files; for Parquet files
    it is the row number (first data row = 1) and `row_based` is set.
    """

    file: str
    line: int | None
    column: str | None
    reason: str
    row_based: bool = False

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":row {self.line}" if self.row_based else f":{self.line}"
        col = f" {self.column}:" if self.column else ""
        return f"{where}:{col} {self.reason}"


@dataclass
class ImportReport:
    """Outcome of validating (and possibly importing) a folder."""

    folder: str
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: dict[str, int] = field(default_factory=dict)  # file → problems not listed
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        for file, more in self.truncated.items():
            lines.append(f"{file}: … and {more} more problems not listed")
        return "\n".join(lines)


class ImportFailed(ValueError):
    """Validation found problems; nothing was written."""

    def __init__(self, report: ImportReport):
        self.report = report
        n = len(report.problems) + sum(report.truncated.values())
        super().__init__(f"{n} problem(s) in {report.folder}; nothing was imported\n{report.summary()}")
