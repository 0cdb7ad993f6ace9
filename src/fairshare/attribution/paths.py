"""Path tables: the aggregated form every attribution model reads.

A path table has one row per distinct path (or per journey) with the ordered touchpoints, the
conversions, their value and the non-converting journeys (`nulls`), like ChannelAttribution's
input. `Paths` holds it encoded for fast, vectorised work: channel codes in one flat array
(`tokens`) cut into rows by `offsets`. Optional per-touch times (`days_before`, days before the
conversion event) and per-row milestone positions (lead / opportunity creation touch) serve the
rules that need them (time-decay, W-shaped, full-path).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

SEPARATOR = " > "

#: Paths per block when parsing path strings (bounds the temporary memory).
PARSE_BLOCK_ROWS = 32_768

#: ChannelAttribution's column names → ours.
CHANNELATTRIBUTION_COLUMNS = {
    "total_conversions": "conversions",
    "total_conversion_value": "value",
    "total_null": "nulls",
}


@dataclass(frozen=True, eq=False)
class Paths:
    """Encoded path table (see the module docstring). Build it with `Paths.from_frame`."""

    channels: np.ndarray  # sorted channel names (str)
    tokens: np.ndarray  # int32 channel codes of every touch, rows concatenated
    offsets: np.ndarray  # int64, len n_rows + 1
    conversions: np.ndarray  # float64 per row
    value: np.ndarray  # float64 per row
    nulls: np.ndarray  # float64 per row
    days_before: np.ndarray | None = None  # float64 per touch
    lead_step: np.ndarray | None = None  # int64 per row: step of the lead-creation touch, -1 if none
    opportunity_step: np.ndarray | None = None  # int64 per row: step of the opportunity-creation touch
    clusters: np.ndarray | None = None  # int64 per row: account code (the bootstrap resamples accounts)

    @property
    def n_rows(self) -> int:
        return len(self.conversions)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def row_of_touch(self) -> np.ndarray:
        """Row index of every touch."""
        return np.repeat(np.arange(self.n_rows), self.lengths)

    @property
    def step_of_touch(self) -> np.ndarray:
        """Position of every touch within its row (0 = first)."""
        return np.arange(len(self.tokens)) - np.repeat(self.offsets[:-1], self.lengths)

    def with_outcomes(self, conversions: np.ndarray, value: np.ndarray, nulls: np.ndarray) -> Paths:
        """The same paths with other conversion / value / null counts (used by the bootstrap)."""
        return replace(self, conversions=conversions, value=value, nulls=nulls)

    def path_strings(self, sep: str = SEPARATOR) -> list[str]:
        names = self.channels[self.tokens]
        return [sep.join(names[a:b]) for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)]

    def to_frame(self) -> pd.DataFrame:
        """Back to a path table (path as a " > "-joined string)."""
        return pd.DataFrame(
            {
                "path": self.path_strings(),
                "conversions": self.conversions,
                "value": self.value,
                "nulls": self.nulls,
            }
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        path: str = "path",
        conversions: str | None = None,
        value: str | None = None,
        nulls: str | None = None,
        sep: str = ">",
    ) -> Paths:
        """Encode a path table.

        `path` holds a sequence of channel names or a string joined by `sep` (spaces around the
        separator are stripped). Column names default to ours (conversions, value, nulls) or
        ChannelAttribution's (total_conversions, total_conversion_value, total_null). Rows with an
        empty path are dropped: their conversions cannot be credited to any channel.
        """
        cols = {**{c: c for c in ("conversions", "value", "nulls")}}
        for theirs, ours in CHANNELATTRIBUTION_COLUMNS.items():
            if ours not in frame.columns and theirs in frame.columns:
                cols[ours] = theirs
        conversions = conversions or cols["conversions"]
        value = value or cols["value"]
        nulls = nulls or cols["nulls"]
        if path not in frame.columns:
            raise ValueError(
                f"path table has no column {path!r} (columns: {', '.join(map(str, frame.columns))})"
            )
        if conversions not in frame.columns:
            raise ValueError(f"path table has no conversions column ({conversions!r} or total_conversions)")
        seqs = frame[path]
        conv = pd.to_numeric(frame[conversions]).to_numpy(dtype=float)
        zeros = np.zeros(len(frame))
        val = pd.to_numeric(frame[value]).to_numpy(dtype=float) if value in frame.columns else zeros
        nul = pd.to_numeric(frame[nulls]).to_numpy(dtype=float) if nulls in frame.columns else zeros
        if len(seqs) and isinstance(seqs.iloc[0], str):
            return cls._from_strings(seqs.fillna("").astype(str), sep, conv, val, nul)
        seqs = seqs.map(lambda s: [str(x).strip() for x in s if str(x).strip()] if s is not None else [])
        return cls.from_sequences(list(seqs), conv, val, nul)

    @classmethod
    def _from_strings(cls, strings: pd.Series, sep: str, conv, val, nul) -> Paths:
        """Encode separator-joined paths with Arrow string kernels (split, trim, dictionary-encode),
        block by block: no per-row Python, and temporary memory bounded by the block size."""
        import pyarrow as pa
        import pyarrow.compute as pc

        column = pa.array(strings)  # zero-copy for Arrow-backed string columns
        if isinstance(column, pa.Array):
            column = pa.chunked_array([column])
        code_of: dict[str, int] = {}
        token_blocks, length_blocks = [], []
        for start in range(0, len(column), PARSE_BLOCK_ROWS):
            lists = pc.split_pattern(column.slice(start, PARSE_BLOCK_ROWS), sep)
            flat = pc.utf8_trim_whitespace(pc.list_flatten(lists)).combine_chunks()
            if pc.any(pc.equal(flat, "")).as_py():
                # empty touchpoints ("a >  > b" or a blank path): the careful per-row route
                seqs = [[x.strip() for x in r.split(sep) if x.strip()] for r in strings.tolist()]
                return cls.from_sequences(seqs, conv, val, nul)
            encoded = pc.dictionary_encode(flat)
            local = np.fromiter(
                (code_of.setdefault(name, len(code_of)) for name in encoded.dictionary.to_pylist()),
                dtype=np.int32,
            )
            token_blocks.append(local[encoded.indices.to_numpy(zero_copy_only=False)])
            length_blocks.append(pc.list_value_length(lists).to_numpy().astype(np.int64))
        del column
        pa.default_memory_pool().release_unused()
        names = np.asarray(list(code_of), dtype=object)
        channels, remap = np.unique(names.astype(str), return_inverse=True)
        remap = remap.ravel().astype(np.int32)
        tokens = remap[np.concatenate(token_blocks)] if token_blocks else np.zeros(0, dtype=np.int32)
        lengths = np.concatenate(length_blocks) if length_blocks else np.zeros(0, dtype=np.int64)
        return cls(
            channels=channels.astype(object),
            tokens=tokens,
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            conversions=conv,
            value=np.nan_to_num(val),
            nulls=nul,
        )

    @classmethod
    def from_sequences(
        cls,
        sequences: list[list[str]] | list[tuple[str, ...]],
        conversions: np.ndarray,
        value: np.ndarray | None = None,
        nulls: np.ndarray | None = None,
        days_before: list[list[float]] | None = None,
        lead_step: np.ndarray | None = None,
        opportunity_step: np.ndarray | None = None,
    ) -> Paths:
        """Encode rows given as sequences of channel names (empty rows are dropped)."""
        n = len(sequences)
        conversions = np.asarray(conversions, dtype=float)
        value = np.zeros(n) if value is None else np.nan_to_num(np.asarray(value, dtype=float))
        nulls = np.zeros(n) if nulls is None else np.asarray(nulls, dtype=float)
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=n)
        keep = lengths > 0
        flat = [c for s in sequences for c in s]
        channels, tokens = _encode(pd.Series(flat, dtype=object).astype(str))
        offsets = np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64)
        days = None
        if days_before is not None:
            days = np.asarray([d for s in days_before for d in s], dtype=float)
        return cls(
            channels=channels.astype(object),
            tokens=tokens.astype(np.int32).ravel(),
            offsets=offsets,
            conversions=conversions[keep],
            value=value[keep],
            nulls=nulls[keep],
            days_before=days,
            lead_step=None if lead_step is None else np.asarray(lead_step, dtype=np.int64)[keep],
            opportunity_step=None
            if opportunity_step is None
            else np.asarray(opportunity_step, dtype=np.int64)[keep],
        )

    @classmethod
    def from_touchpoints(cls, touchpoints: pd.DataFrame) -> Paths:
        """Encode a journey-level touchpoint table (one row per touch), as `fairshare.journeys` builds it.

        Columns: journey_id, step (order within the journey), key (channel / campaign / team),
        converted (bool), value, and optionally days_before (days before the conversion event),
        lead_step / opportunity_step (the milestone touches' steps, per journey) or a per-touch
        milestone ("lead", "opportunity" or null). Each journey becomes one row.
        """
        tp = touchpoints.sort_values(["journey_id", "step"], kind="stable").reset_index(drop=True)
        journey_codes, journey_ids = pd.factorize(tp["journey_id"], sort=True)
        n = len(journey_ids)
        channels, tokens = _encode(tp["key"].astype(str))
        lengths = np.bincount(journey_codes, minlength=n).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        first = offsets[:-1]
        converted = tp["converted"].to_numpy(dtype=bool)[first]
        value = np.nan_to_num(tp["value"].to_numpy(dtype=float)[first]) * converted
        step = np.arange(len(tp)) - np.repeat(first, lengths)
        lead_step = np.full(n, -1, dtype=np.int64)
        opp_step = np.full(n, -1, dtype=np.int64)
        for column, target in (("lead_step", lead_step), ("opportunity_step", opp_step)):
            if column in tp.columns:
                steps = pd.to_numeric(tp[column]).to_numpy(dtype=float)[first]
                target[:] = np.where(np.isnan(steps), -1, steps).astype(np.int64)
        if "milestone" in tp.columns:
            ms = tp["milestone"].astype("string").fillna("")
            for label, target in (("lead", lead_step), ("opportunity", opp_step)):
                hit = (ms == label).to_numpy()
                target[journey_codes[hit]] = step[hit]
        days = tp["days_before"].to_numpy(dtype=float) if "days_before" in tp.columns else None
        clusters = None
        if "account_id" in tp.columns:
            clusters = pd.factorize(tp["account_id"].astype(str).to_numpy()[first])[0].astype(np.int64)
        return cls(
            channels=channels.astype(object),
            tokens=tokens.astype(np.int32).ravel(),
            offsets=offsets,
            conversions=converted.astype(float),
            value=value,
            nulls=(~converted).astype(float),
            days_before=days,
            lead_step=lead_step,
            opportunity_step=opp_step,
            clusters=clusters,
        )


def _encode(names: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct names and the code of every element (hash-based, fast on millions)."""
    codes, uniques = pd.factorize(names)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return uniques[order], rank[codes] if len(codes) else codes.astype(np.int32)


def as_paths(data: Paths | pd.DataFrame) -> Paths:
    """A `Paths` from a `Paths`, a path table or a touchpoint table."""
    if isinstance(data, Paths):
        return data
    if isinstance(data, pd.DataFrame):
        if {"journey_id", "step", "key"} <= set(data.columns):
            return Paths.from_touchpoints(data)
        return Paths.from_frame(data)
    raise TypeError(f"expected a path table (DataFrame) or Paths, got {type(data).__name__}")


def read_paths(file: str | Path) -> pd.DataFrame:
    """Read a ChannelAttribution-style path table (CSV with `,` or `;`, or Parquet) as a DataFrame.

    Columns: path (" > " separated), total_conversions, total_conversion_value, total_null (or our
    names conversions, value, nulls). Raises ValueError naming what is missing.
    """
    file = Path(file)
    if file.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(file)
    else:
        with file.open(newline="", encoding="utf-8") as fh:
            head = fh.readline()
        delimiter = ";" if head.count(";") > head.count(",") else ","
        frame = pd.read_csv(file, sep=delimiter, quoting=csv.QUOTE_MINIMAL)
    frame.columns = [str(c).strip() for c in frame.columns]
    if "path" not in frame.columns:
        raise ValueError(f"{file}: no 'path' column (found: {', '.join(frame.columns)})")
    if "conversions" not in frame.columns and "total_conversions" not in frame.columns:
        raise ValueError(f"{file}: no 'total_conversions' (or 'conversions') column")
    return frame
