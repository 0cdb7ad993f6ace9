"""Exceptions shared across layers (models raise them, the run, the CLI and the API catch them).

A leaf module: it imports nothing from fairshare, so any layer may import it. `DefinitionsError`
also phrases its own hints (the unknown key's nearest name, a number's allowed range).
"""

from __future__ import annotations


class AreaMissing(LookupError):
    """An area cannot run here: its module or `results` function does not exist in this
    installation, or the warehouse lacks the data it needs (e.g. no leads to score)."""


class NoResults(LookupError):
    """The workspace has no stored run yet."""


class FeatureTableTooLarge(MemoryError):
    """A feature table would exceed `[workspace] max_feature_cells` (rows x columns) in Python."""


class DefinitionsError(ValueError):
    """The definitions file is invalid; the message names the key and what to do."""

    @staticmethod
    def unknown_key_hint(model: type, loc: tuple) -> str:
        """'did you mean ...' for an unknown key, walking the (pydantic) settings models along `loc`."""
        import difflib

        current = model
        for part in loc[:-1]:
            field = current.model_fields.get(str(part)) if current else None
            current = _settings_model(field.annotation if field else None)
        if current is None:
            return ""
        close = difflib.get_close_matches(str(loc[-1]), list(current.model_fields), n=1, cutoff=0.6)
        return (
            f" — did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(current.model_fields)})"
        )

    @staticmethod
    def allowed_range(model: type, loc: tuple) -> str:
        """' (allowed: 1 to 3650)' for a bounded number, from the field's constraints."""
        current, field = model, None
        for part in loc:
            field = current.model_fields.get(str(part)) if current else None
            if field is None:
                return ""
            current = _settings_model(field.annotation)
        low = high = None
        for m in field.metadata:
            low = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else getattr(m, "gt", low)
            high = getattr(m, "le", None) if getattr(m, "le", None) is not None else getattr(m, "lt", high)
        if low is None and high is None:
            return ""
        return f" (allowed: {'…' if low is None else low} to {'…' if high is None else high})"


def _settings_model(annotation: object) -> type | None:
    """`annotation` if it is a settings model (a class with pydantic `model_fields`), else None."""
    return annotation if isinstance(annotation, type) and hasattr(annotation, "model_fields") else None
