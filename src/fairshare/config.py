"""The definitions file, `fairshare.toml`: load, validate, defaults.

Every number both teams could argue about (stages, MQL rule, SLAs, attribution windows,
channel mapping, teams) lives here, validated once into a typed object.
"""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_NAME = "fairshare.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceSettings(_Section):
    """Where the warehouse lives and what money is counted in."""

    warehouse: str = Field(
        "duckdb:///{workspace}/fairshare.duckdb",
        description="Ibis connection URL; {workspace} is replaced by the workspace folder.",
    )
    currency: str = "USD"


class FunnelSettings(_Section):
    """Stage names as they appear in the lifecycle table, in funnel order."""

    lead_stages: list[str] = ["lead", "MQL", "SAL", "SQL"]
    opportunity_stages: list[str] = ["discovery", "demo", "proposal", "negotiation"]
    won_stage: str = "closed_won"
    lost_stage: str = "closed_lost"
    mql_stage: str = "MQL"
    accepted_stage: str = "SAL"
    rejected_stage: str = "rejected"
    size_bands: list[int] = Field([50, 200, 1000], description="employee counts where a new size band starts")

    @field_validator("size_bands")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(v, v[1:], strict=False)) or any(x <= 0 for x in v):
            raise ValueError(f"size_bands must be positive and ascending, got {v}")
        return v

    @model_validator(mode="after")
    def _stages_known(self) -> FunnelSettings:
        for name in ("mql_stage", "accepted_stage"):
            if getattr(self, name) not in self.lead_stages:
                raise ValueError(
                    f"{name} {getattr(self, name)!r} is not one of lead_stages {self.lead_stages}"
                )
        return self


class MQLRule(_Section):
    """When a lead counts as marketing-qualified.

    `lifecycle` trusts the MQL stage rows in the lifecycle table; `engagement` applies the rule
    below (at least `min_touches` touches of `kinds` within `window_days` before the lead's MQL time).
    """

    mode: Literal["lifecycle", "engagement"] = "lifecycle"
    min_touches: int = Field(3, ge=1)
    window_days: int = Field(30, ge=1)
    kinds: list[str] = ["form", "webinar", "event", "email_click", "content"]


class SLASettings(_Section):
    """Service levels sales and marketing agreed on."""

    first_contact_hours: float = Field(24.0, gt=0, description="first sales activity after lead creation")
    mql_decision_days: float = Field(2.0, gt=0, description="MQL accepted or rejected within")
    rejection_requires_reason: bool = True
    stuck_opportunity_days: float = Field(30.0, gt=0, description="open opportunity with no activity for")


class AttributionSettings(_Section):
    """Windows and weights of the attribution rules."""

    lookback_days: int = Field(180, ge=1)
    half_life_days: float = Field(7.0, gt=0)
    direct_channels: list[str] = ["direct", "organic"]
    excluded_touch_kinds: list[str] = Field(
        [], description="touch kinds that neither enter journeys nor count as influence (e.g. impression)"
    )
    u_shape: tuple[float, float, float] = (0.4, 0.2, 0.4)
    w_shape: tuple[float, float, float, float] = (0.3, 0.3, 0.3, 0.1)
    sourced_by: Literal["source_team", "first_touch"] = "source_team"
    bootstrap: int = Field(200, ge=0)
    run_bootstrap_cap: int = Field(
        200, ge=0, description="most resamples `fairshare run` draws, whatever `bootstrap` says"
    )

    @field_validator("u_shape", "w_shape")
    @classmethod
    def _sums_to_one(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if abs(sum(v) - 1.0) > 1e-9 or min(v) < 0:
            raise ValueError(f"weights must be non-negative and sum to 1, got {list(v)}")
        return v


class ContributionSettings(_Section):
    """Assumptions of the incremental-contribution estimates that the data cannot identify."""

    ae_baseline_win_factor: float = Field(
        0.3, ge=0, le=1, description="self-serve win rate without AEs, as a share of today's"
    )
    ae_baseline_amount_factor: float = Field(
        0.5, ge=0, le=1, description="self-serve deal size without AEs, as a share"
    )
    sdr_inbound_share: float = Field(
        0.5, ge=0, le=1, description="share of SDR-contacted inbound revenue credited to SDRs"
    )
    level: float = Field(0.9, gt=0, lt=1, description="interval level")


class ScoringSettings(_Section):
    """When leads are scored: their features are frozen `horizon_days` after the lead arrives."""

    horizon_days: float = Field(7.0, ge=0, description="days after lead creation at which features are taken")
    lookback_days: float = Field(
        180.0, gt=0, description="touches and activities this many days before the scoring time count"
    )


class RepSettings(_Section):
    """Rep quality: who gets a rank."""

    min_leads: int = Field(20, ge=0, description="reps with fewer leads than this get no rank")


class ForecastSettings(_Section):
    """The bookings forecast: which period, the run-rate window, and how wide its interval is."""

    lookback_days: float = Field(
        90.0, gt=0, description="days of opportunity creation that set each rep's run-rate"
    )
    min_remaining_days: float = Field(
        7.0,
        ge=0,
        description="forecast the next period when fewer days than this are left in the current one",
    )
    interval_scale: float = Field(
        1.5, gt=0, description="stretch of the P10-P90 around the P50 until the backtest has enough forecasts"
    )
    calibration_min_forecasts: int = Field(
        4, ge=1, description="backtest forecasts (with known outcome) needed to fit the stretch from the data"
    )
    backtest_offsets: list[int] = Field(
        [10, 30, 45, 60], description="days into each past period at which the backtest forecasts it"
    )


class TeamSettings(_Section):
    """Which rep teams count as SDR and as AE work, and which lead source is marketing."""

    sdr: list[str] = ["SDR"]
    ae: list[str] = ["AE", "AM"]
    marketing_source_teams: list[str] = ["marketing"]


class ChannelSettings(_Section):
    """Raw source labels (as exported) mapped to canonical channel names."""

    map: dict[str, str] = {}

    def canonical(self, raw: str) -> str:
        return self.map.get(raw, raw)


class ApiSettings(_Section):
    """Bearer tokens accepted by `fairshare serve` (FAIRSHARE_API_TOKEN adds one)."""

    tokens: list[str] = []


class Definitions(_Section):
    """The whole definitions file."""

    workspace: WorkspaceSettings = WorkspaceSettings()
    funnel: FunnelSettings = FunnelSettings()
    mql: MQLRule = MQLRule()
    sla: SLASettings = SLASettings()
    attribution: AttributionSettings = AttributionSettings()
    teams: TeamSettings = TeamSettings()
    contribution: ContributionSettings = ContributionSettings()
    scoring: ScoringSettings = ScoringSettings()
    forecast: ForecastSettings = ForecastSettings()
    reps: RepSettings = RepSettings()
    channels: ChannelSettings = ChannelSettings()
    api: ApiSettings = ApiSettings()


class DefinitionsError(ValueError):
    """The definitions file is invalid; the message names the key and what to do."""


def _suggest(model: type[BaseModel], loc: tuple) -> str:
    """'did you mean ...' for an unknown key, walking the models along `loc`."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part)) if current else None
        ann = field.annotation if field else None
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    if current is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(current.model_fields), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(current.model_fields)})"


def parse_definitions(text: str, source: str = CONFIG_NAME) -> Definitions:
    """Parse and validate definitions from TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise DefinitionsError(f"{source}: not valid TOML: {e}") from None
    try:
        return Definitions.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc)
            if err["type"] == "extra_forbidden":
                problems.append(f"{source}: unknown key {str(loc[-1])!r} in [{'.'.join(map(str, loc[:-1])) or 'top'}]"
                                f"{_suggest(Definitions, loc)}")  # fmt: skip
            else:
                problems.append(f"{source}: {where}: {err['msg']}")
        raise DefinitionsError("\n".join(problems)) from None


def load_definitions(path: Path) -> Definitions:
    """Load `fairshare.toml` from a file (defaults when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return Definitions()
    return parse_definitions(path.read_text(encoding="utf-8"), source=str(path))


def definitions_hash(path: Path) -> str:
    """SHA-256 of the definitions file's bytes (empty string hashed when it is absent)."""
    data = Path(path).read_bytes() if Path(path).exists() else b""
    return hashlib.sha256(data).hexdigest()


DEFAULT_TOML = """\
# fairshare.toml — the definitions both teams agree on.
# Every KPI, attribution rule and SLA reads from here; change a number here, not in code.

[workspace]
# Ibis connection URL. {workspace} is the folder holding this file.
# Any Ibis backend works, e.g. "postgres://user@host/db".
warehouse = "duckdb:///{workspace}/fairshare.duckdb"
currency = "USD"

[funnel]
# Stage names exactly as they appear in the lifecycle table, in funnel order.
lead_stages = ["lead", "MQL", "SAL", "SQL"]
opportunity_stages = ["discovery", "demo", "proposal", "negotiation"]
won_stage = "closed_won"
lost_stage = "closed_lost"
mql_stage = "MQL"
accepted_stage = "SAL"        # sales accepted the MQL
rejected_stage = "rejected"   # sales rejected the MQL (should carry a reason)
size_bands = [50, 200, 1000]  # employee counts where a new size band (segment) starts

[mql]
# "lifecycle": trust the MQL rows of the lifecycle table.
# "engagement": a lead is an MQL once it has min_touches touches of these kinds within window_days.
mode = "lifecycle"
min_touches = 3
window_days = 30
kinds = ["form", "webinar", "event", "email_click", "content"]

[sla]
first_contact_hours = 24        # first sales activity after a lead is created
mql_decision_days = 2           # an MQL is accepted or rejected within this many days
rejection_requires_reason = true
stuck_opportunity_days = 30     # open opportunity with no activity for this long is stuck

[attribution]
lookback_days = 180             # touches older than this before the opportunity do not count
half_life_days = 7              # time-decay rule
direct_channels = ["direct", "organic"]   # skipped by the last-non-direct rule
excluded_touch_kinds = []       # e.g. ["impression"]: such touches neither enter journeys nor count as influence
u_shape = [0.4, 0.2, 0.4]       # first, middle (shared), last
w_shape = [0.3, 0.3, 0.3, 0.1]  # first, lead creation, opportunity creation, rest (shared)
sourced_by = "source_team"      # or "first_touch": who sourced an opportunity
bootstrap = 200                 # resamples over accounts for intervals
run_bootstrap_cap = 200         # most resamples `fairshare run` draws, whatever bootstrap says

[contribution]
# What the data cannot tell: stated assumptions, printed next to every estimate that uses them.
ae_baseline_win_factor = 0.3    # without AEs, deals close self-serve at this share of today's win rate
ae_baseline_amount_factor = 0.5 # ... and at this share of today's deal size
sdr_inbound_share = 0.5         # share of SDR-contacted inbound revenue credited to SDRs (0..1 bound)
level = 0.9                     # interval level

[scoring]
horizon_days = 7                # lead features as known this many days after the lead arrived
lookback_days = 180             # touches and activities this many days before scoring count

[forecast]
lookback_days = 90              # days of opportunity creation that set each rep's run-rate
min_remaining_days = 7          # forecast the next period when fewer days than this are left in this one
interval_scale = 1.5            # stretch of the P10-P90 around the P50 until the backtest can fit it
                                # (1.5: what the deal model needed on the simulator grid, docs/forecast.md)
calibration_min_forecasts = 4   # past forecasts with a known outcome needed to fit the stretch from the data
backtest_offsets = [10, 30, 45, 60]   # days into each past period at which `forecast backtest` forecasts it

[reps]
min_leads = 20                  # reps with fewer leads get no rank (not ranked on noise)

[teams]
sdr = ["SDR"]                   # rep teams whose work counts as SDR
ae = ["AE", "AM"]               # rep teams whose work counts as AE
marketing_source_teams = ["marketing"]

[channels.map]
# raw source label = canonical channel
# "google / cpc" = "paid_search"
# "linkedin" = "paid_social"

[api]
# Bearer tokens for `fairshare serve`; FAIRSHARE_API_TOKEN adds one.
tokens = []
"""
