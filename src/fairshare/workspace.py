"""`fairshare.Workspace`: one folder holding the definitions file, the warehouse and model results.

The CLI, the API server and the report are thin layers over this object.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from fairshare import results, schema, snapshots, status, warehouse
from fairshare.config import CONFIG_NAME, Definitions, default_toml, definitions_hash, load_definitions
from fairshare.facts import Facts, facts_of
from fairshare.ingest import ImportReport, import_folder, validate_folder
from fairshare.ingest.canonical import Progress

if TYPE_CHECKING:
    from fairshare.demo import Demo


class Workspace:
    """A fairshare workspace folder: `fairshare.toml`, the warehouse, and stored results.

    Connections are opened lazily and closed with `close()` (or a `with` block): DuckDB lets one
    process hold a file, so readers and writers keep connections short.
    """

    def __init__(self, path: str | Path = ".", read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self.definitions: Definitions = load_definitions(self.path / CONFIG_NAME)
        self.url = warehouse.resolve_url(self.definitions.workspace.warehouse, self.path)
        self._con: ibis.BaseBackend | None = None
        self._facts: Facts | None = None
        self._created: Path | None = None  # the warehouse file this object created (see import_)

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # --- lifecycle ---------------------------------------------------------------------------

    @staticmethod
    def init(path: str | Path = ".", overwrite: bool = False, warehouse: str | None = None) -> Workspace:
        """Create the folder and a commented default `fairshare.toml` (kept if it exists), naming
        `warehouse` (a URL as in `fairshare.warehouse`) if given instead of the DuckDB file."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config = path / CONFIG_NAME
        if overwrite or not config.exists():
            config.write_text(default_toml(warehouse), encoding="utf-8")
        return Workspace(path)

    @property
    def con(self) -> ibis.BaseBackend:
        """The open warehouse connection (opened on first use; canonical tables ensured)."""
        if self._con is None:
            # readers connect read-only: they never create the file and other readers may share it
            file = warehouse.duckdb_path(self.url)
            if file is not None and not file.exists() and not self.read_only:
                self._created = file
            self._con = warehouse.connect(self.url, read_only=self.read_only)
            if not self.read_only:
                warehouse.ensure_canonical_tables(self._con)
        return self._con

    def close(self) -> None:
        """Release the connection (and any Ibis `.cache()` tables on it, which would otherwise be
        dropped at interpreter exit, after the connection is gone)."""
        if self._con is not None:
            for name in list(getattr(self._con, "_cache_name_to_entry", {}) or {}):
                with contextlib.suppress(Exception):
                    self._con._finalize_cached_table(name)
            try:
                self._con.disconnect()
            finally:
                self._con = None
                self._facts = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- data ----------------------------------------------------------------------------------

    @property
    def facts(self) -> Facts:
        """Lead and opportunity facts at the current data version (built once, rebuilt after an
        import or a change of definitions)."""
        self._facts = facts_of(self, self._facts)
        return self._facts

    def table(self, name: str) -> ir.Table:
        """A canonical table (or a stored result table) as an Ibis expression."""
        if name in schema.TABLES:
            if name not in self.con.list_tables():
                return ibis.memtable(
                    pd.DataFrame({c: pd.Series(dtype="object") for c in schema.TABLES[name].column_names})
                ).cast(schema.ibis_schema(schema.TABLES[name]))
            return self.con.table(name)
        return self.con.table(name)

    def import_(
        self, folder: str | Path, progress: Progress | None = None, mapping: str | Path | None = None
    ) -> ImportReport:
        """Validate and import a folder of canonical files; raises ImportFailed with every problem.

        With `mapping` (`salesforce`, `hubspot` or a mapping TOML file) the folder holds CRM exports,
        translated into canonical files first; problems then name the export file they came from.
        """
        try:
            return self._import(folder, progress, mapping)
        except BaseException:
            self._forget_created()
            raise

    def _forget_created(self) -> None:
        """After a failed first import, remove the warehouse file this object created for it: a
        rejected folder leaves no empty tables behind (the next command still says "no data")."""
        file = self._created
        if file is None or self._con is None:
            return
        try:
            if results.data_version(self) is not None:
                return
        except Exception:  # noqa: BLE001 (a broken connection: leave the file for the user to see)
            return
        self.close()
        for leftover in (file, file.with_name(file.name + ".wal")):
            leftover.unlink(missing_ok=True)
        self._created = None

    def _import(
        self, folder: str | Path, progress: Progress | None, mapping: str | Path | None
    ) -> ImportReport:
        ingest = self.definitions.ingest
        years = (ingest.earliest_year, ingest.latest_year)
        if mapping is None:
            return import_folder(self.con, folder, progress=progress, years=years)
        import tempfile

        from fairshare.ingest import ImportFailed
        from fairshare.ingest.mappings import load_mapping, translate

        rules = load_mapping(mapping)
        with tempfile.TemporaryDirectory(prefix="fairshare-mapped-") as tmp:
            if progress:
                progress(f"translating {rules.name} exports")
            sources = translate(folder, rules, tmp)
            try:
                return import_folder(self.con, tmp, progress=progress, years=years)
            except ImportFailed as e:
                renamed = {f"{table}.csv": f"{export} (as {table}.csv)" for table, export in sources.items()}
                renamed[tmp] = str(
                    folder
                )  # folder-level problems name the user's folder, not the temporary one
                e.report.problems = [replace(p, file=renamed.get(p.file, p.file)) for p in e.report.problems]
                e.report.folder = str(folder)
                raise ImportFailed(e.report) from None

    def validate(self, folder: str | Path, progress: Progress | None = None) -> ImportReport:
        """The import's checks (against this warehouse too), without writing anything."""
        ingest = self.definitions.ingest
        return validate_folder(
            folder, self.con, progress=progress, years=(ingest.earliest_year, ingest.latest_year)
        )

    def status(self) -> dict[str, Any]:
        """Tables with row counts, the last import and run, and where the warehouse is."""
        return status.describe(self.path, self.definitions, self.url, self.con)

    # --- tasks: one method per task, each a thin call into its area ------------------------------

    def attribution(
        self, model: str = "all", by: str = "channel", stage: str = "revenue", **options: Any
    ) -> pd.DataFrame:
        """Credit under one attribution model or all of them (`fairshare.attribution.attribute`, with
        `options` such as order, bootstrap, level) on this workspace's journeys."""
        from fairshare.attribution import attribute, workspace_paths
        from fairshare.errors import AreaMissing

        paths = workspace_paths(self, by=by, stage=stage)
        if paths is None:
            raise AreaMissing("no journeys in this workspace: import touches/activities and opportunities")
        return attribute(paths, model, settings=self.definitions.attribution, **options)

    def contribution(self, level: float | None = None, random_state: int = 0) -> pd.DataFrame:
        """What marketing, SDRs and AEs each add (`fairshare.contribution.contribution`)."""
        from fairshare.contribution import contribution

        return contribution(self, level=level, random_state=random_state)

    def score_leads(self, random_state: int = 0) -> pd.DataFrame:
        """Every lead's P(win), value and value per rep hour (`fairshare.scoring.score_workspace`)."""
        from fairshare.scoring import score_workspace

        horizon = self.definitions.scoring.horizon_days
        return score_workspace(self, horizon_days=horizon, random_state=random_state)[2]

    def note_themes(self, random_state: int = 0) -> pd.DataFrame:
        """Themes in the activity notes with the win-rate lift of deals that have them (`fairshare.notes`)."""
        from fairshare.notes import themes_of

        return themes_of(self, random_state)[0].result_

    def evaluate_notes(self, as_of_days: float | None = None, random_state: int = 0) -> pd.DataFrame:
        """5-fold CV AUC of "deal will be won" with and without point-in-time note features."""
        from fairshare.notes import evaluate

        return evaluate(self, as_of_days, random_state)

    def forecast(
        self, period: str = "quarter", as_of: datetime | str | None = None, level: float = 0.9
    ) -> pd.DataFrame:
        """Bookings P10/P50/P90 per rep and in total of the period open at `as_of` (the deal forecast,
        calibrated by its backtest: `fairshare.forecast.forecast`)."""
        from fairshare.forecast import forecast

        return forecast(self, as_of=as_of, period=period, level=level)[0].result_

    def run(
        self, progress: Callable[[str, int, int], None] | None = None, truth_dir: str | Path | None = None
    ) -> dict[str, Any]:
        """Fit every area and store the results (`fairshare.run.run`); returns the run manifest."""
        from fairshare.run import run

        return run(self, progress=progress, truth_dir=truth_dir)

    @staticmethod
    def demo(
        path: str | Path,
        accounts: int = 3000,
        seed: int = 0,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Demo:
        """Simulate a company into a new workspace at `path`, run every model, write the report
        (`fairshare.demo.make_demo`)."""
        from fairshare.demo import make_demo

        return make_demo(Workspace.init, path, accounts=accounts, seed=seed, progress=progress)

    # --- results -------------------------------------------------------------------------------

    def save_results(self, tables: dict[str, pd.DataFrame], seconds: float = 0.0) -> dict[str, Any]:
        """Store a run's result tables in the warehouse (one transaction) and as a read-only snapshot.

        Readers (report, API, dashboard) read the snapshot, so they never hold the warehouse file.
        The snapshot is written first and published after the commit (`fairshare.snapshots`).
        """
        con = self.con
        config_hash = definitions_hash(self.path / CONFIG_NAME)
        at = datetime.now(UTC).replace(tzinfo=None)
        runs = con.table(warehouse.RUNS_TABLE)
        last = runs.run_id.max().execute()
        snapshots.recover(self.path, None if pd.isna(last) else int(last))  # a run killed while storing
        run_id = int(0 if pd.isna(last) else last) + 1
        manifest = {"run_id": run_id, "at": at.isoformat(), "definitions_hash": config_hash,
                    "data_version": results.data_version(self), "tables": sorted(tables), "seconds": seconds,
                    "currency": self.definitions.workspace.currency}  # fmt: skip
        stored = {name: _storable(frame) for name, frame in tables.items()}
        staged = snapshots.stage(self.path, stored, manifest)
        try:
            run = {"run_id": run_id, "at": at, "definitions_hash": config_hash,
                   "tables": json.dumps(sorted(tables)), "seconds": float(seconds)}  # fmt: skip
            warehouse.store_results(con, stored, run)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)  # nothing committed: the half-made snapshot goes too
            raise
        snapshots.publish(self.path, staged)
        return manifest

    def results_manifest(self) -> dict[str, Any] | None:
        """The last run's manifest (run_id, at, definitions_hash, tables), or None before any run."""
        return results.manifest(self.path)

    def result(self, name: str) -> pd.DataFrame:
        """One stored result table from the last run's snapshot (KeyError if the run did not make it)."""
        return results.read(self.path, name)


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Result frames with plain column names and object columns as strings (Parquet/DuckDB safe)."""
    out = frame.reset_index(drop=True).copy()
    out.attrs = {}  # models may keep Python objects here; results are the columns
    out.columns = [str(c) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna()
            if len(sample) and not all(isinstance(v, str) for v in sample.head(100)):
                out[col] = out[col].map(
                    lambda v: None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str))
                )
    return out
