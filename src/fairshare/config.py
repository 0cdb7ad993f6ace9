"""The definitions file, `fairshare.toml`: load, validate, defaults.

Every number both teams could argue about (stages, MQL rule, SLAs, attribution windows,
channel mapping, teams) lives here, validated once into a typed object.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fairshare.errors import DefinitionsError

CONFIG_NAME = "fairshare.toml"


#: Upper bounds of the time settings: beyond them every area of a run would fail or mean nothing.
MAX_DAYS = 3650  # ten years
MAX_HOURS = 24 * 365


class _Section(BaseModel):
    """Every section: unknown keys are errors, and NaN or infinity is never a valid number."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class WorkspaceSettings(_Section):
    """Where the warehouse lives and what money is counted in."""

    warehouse: str = Field(
        "duckdb:///{workspace}/fairshare.duckdb",
        description="Ibis connection URL; {workspace} is replaced by the workspace folder.",
    )
    currency: str = "USD"
    max_feature_cells: int = Field(
        250_000_000,
        ge=1,
        description="largest per-lead or per-account feature table (rows x columns) a model brings "
        "into Python (8 bytes a cell as float64: 2 GB); beyond it the area fails and says so",
    )


class FunnelSettings(_Section):
    """Stage names as they appear in the lifecycle table, in funnel order."""

    lead_stages: list[str] = ["lead", "MQL", "SAL", "SQL"]
    opportunity_stages: list[str] = ["discovery", "demo", "proposal", "negotiation"]
    won_stage: str = "closed_won"
    lost_stage: str = "closed_lost"
    mql_stage: str = "MQL"
    accepted_stage: str = "SAL"
    rejected_stage: str = "rejected"
    size_bands: list[int] = Field(
        [50, 200, 1000], max_length=50, description="employee counts where a new size band starts"
    )

    @field_validator("size_bands")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(v, v[1:], strict=False)) or any(not 0 < x <= 10**9 for x in v):
            raise ValueError(f"size_bands must be ascending employee counts in 1..1e9, got {v}")
        return v

    @model_validator(mode="after")
    def _stages_known(self) -> FunnelSettings:
        for name in ("mql_stage", "accepted_stage"):
            if getattr(self, name) not in self.lead_stages:
                raise ValueError(
                    f"{name} {getattr(self, name)!r} is not one of lead_stages {self.lead_stages}"
                )
        return self


class SLASettings(_Section):
    """Service levels sales and marketing agreed on."""

    first_contact_hours: float = Field(
        24.0, gt=0, le=MAX_HOURS, description="first sales activity after lead creation"
    )
    mql_decision_days: float = Field(2.0, gt=0, le=MAX_DAYS, description="MQL accepted or rejected within")
    rejection_requires_reason: bool = True
    stuck_opportunity_days: float = Field(
        30.0, gt=0, le=MAX_DAYS, description="open opportunity with no activity for"
    )
    compliance_target: float = Field(
        0.9,
        gt=0,
        le=1,
        description="share of each SLA's cases met on time both teams aim for (chart: green at or above)",
    )
    first_contact_target: float | None = Field(
        None,
        gt=0,
        le=1,
        description="first contact's own target (and never contacted's); else compliance_target",
    )
    mql_decision_target: float | None = Field(None, gt=0, le=1, description="else compliance_target")
    rejection_reason_target: float | None = Field(None, gt=0, le=1, description="else compliance_target")
    stuck_opportunity_target: float | None = Field(None, gt=0, le=1, description="else compliance_target")

    def target(self, sla: str) -> float:
        """The share of `sla`'s cases agreed to be met on time: its own target, else compliance_target.
        Never contacted is the first-contact SLA's other side and shares its target."""
        own = getattr(self, f"{'first_contact' if sla == 'never_contacted' else sla}_target", None)
        return self.compliance_target if own is None else own


class AttributionSettings(_Section):
    """Windows and weights of the attribution rules."""

    lookback_days: int = Field(180, ge=1, le=MAX_DAYS)
    half_life_days: float = Field(7.0, gt=0, le=MAX_DAYS)
    direct_channels: list[str] = ["direct", "organic"]
    excluded_touch_kinds: list[str] = Field(
        [], description="touch kinds that neither enter journeys nor count as influence (e.g. impression)"
    )
    u_shape: tuple[float, float, float] = (0.4, 0.2, 0.4)
    w_shape: tuple[float, float, float, float] = (0.3, 0.3, 0.3, 0.1)
    sourced_by: Literal["source_team", "first_touch"] = "source_team"
    bootstrap: int = Field(200, ge=0, le=10_000)
    run_bootstrap_cap: int = Field(
        200, ge=0, le=10_000, description="most resamples `fairshare run` draws, whatever `bootstrap` says"
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
    ae_baseline_range: tuple[float, float] = Field(
        (0.05, 0.3), description="plausible range of the retained self-serve share (win x amount factor)"
    )
    sdr_inbound_share: float = Field(
        0.5, ge=0, le=1, description="share of SDR-contacted inbound revenue credited to SDRs"
    )
    level: float = Field(0.9, gt=0, lt=1, description="interval level")
    panel_period_days: int = Field(14, ge=7, description="length of one account-period of the SDR panel")
    panel_window_days: int = Field(
        14, ge=7, description="outcome window after a period starts (opportunities created in it)"
    )
    panel_lookback_days: int = Field(
        0,
        ge=0,
        description="> 0: treatment = entering a sequence after this many days without outbound; "
        "0: any outbound in the period",
    )
    winsor_percentile: float = Field(
        99.5, gt=50, le=100, description="outcomes are capped at this percentile of the positive ones"
    )
    large_deal_share: float = Field(
        0.2, gt=0, le=1, description="warn (naming the deal) when one deal is this share of won revenue"
    )
    capacity_min_variation: float = Field(
        0.1, ge=0, description="capacity design needs this coefficient of variation of SDR capacity"
    )
    capacity_min_f: float = Field(10.0, ge=0, description="... and this first-stage F statistic")
    holdout_arm: str = Field(
        "holdout", description="arm of an account holdout experiment that gets none of the work"
    )
    outbound_holdout_experiment: str = Field(
        "sdr-outbound-holdout", description="account experiment whose holdout arm gets no SDR outbound"
    )
    marketing_holdout_experiment: str = Field(
        "marketing-holdout", description="account experiment whose holdout arm gets no targeted marketing"
    )

    @field_validator("ae_baseline_range")
    @classmethod
    def _ordered_share(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1] <= 1:
            raise ValueError(f"must be two shares low <= high in [0, 1], got {list(v)}")
        return v


class ScoringSettings(_Section):
    """When leads are scored: their features are frozen `horizon_days` after the lead arrives."""

    horizon_days: float = Field(
        7.0, ge=0, le=MAX_DAYS, description="days after lead creation at which features are taken"
    )
    activity_minutes: dict[str, float] = Field(
        {"call": 5.0, "email": 3.0, "meeting": 30.0, "demo": 45.0, "social": 2.0, "other": 5.0},
        description="rep minutes per activity kind when an activity has no duration_s (effort model)",
    )
    monotone: dict[str, Literal[-1, 1]] = Field(
        {"hours_to_first_response": -1},
        description="features whose direction on P(win) is known (-1: more lowers it); held unless the "
        "workspace's own data shows the opposite",
    )
    lookback_days: float = Field(
        180.0,
        gt=0,
        le=MAX_DAYS,
        description="touches and activities this many days before the scoring time count",
    )


class RoutingSettings(_Section):
    """The work queue: what jumps it, how much of it a day holds, who takes new leads, when a lead is lost."""

    urgent_hours: float = Field(
        4.0, ge=0, description="an uncontacted lead whose SLA falls due within this jumps the queue"
    )
    capacity_days: float = Field(
        1.0, gt=0, description="working days of rep capacity the queue's fits_capacity covers"
    )
    active_days: int = Field(
        30, ge=1, description="reps with activity in this many days before now take new leads"
    )
    max_wait_days: float = Field(
        5.0, gt=0, description="queue replay: a lead waiting longer than this is never worked"
    )


class EconomicsSettings(_Section):
    """What sales time costs and which prospecting programs the verdict compares."""

    hourly_cost: float = Field(
        60.0, ge=0, le=1_000_000, description="loaded cost of a rep hour for a rep without hourly_cost"
    )
    programs: list[str] = Field(
        ["cold_call", "referral", "event", "marketing"],
        description="source programs the prospecting verdict compares (marketing carries the media spend)",
    )
    replications: int = Field(
        200, ge=20, le=100_000, description="bootstrap resamples of accounts behind the verdict's intervals"
    )


class RepSettings(_Section):
    """Rep quality: who gets a rank."""

    min_leads: int = Field(20, ge=0, le=1_000_000, description="reps with fewer leads than this get no rank")


class NoteSettings(_Section):
    """Activity notes: themes, deal signals and the rep factors read from them (`fairshare.notes`)."""

    themes: int = Field(12, ge=2, le=100, description="themes found in the notes (NMF components)")
    min_notes: int = Field(3, ge=1, le=1_000_000, description="a phrase must appear in this many notes")
    examples: bool = Field(
        True, description="show example notes per theme (off: notes may hold personal data)"
    )
    n_examples: int = Field(3, ge=0, le=20, description="example notes kept per theme")
    as_of_days: float = Field(
        14.0,
        gt=0,
        le=MAX_DAYS,
        description="deal signals: days after opportunity creation at which deals are read",
    )
    positive_sentiment: float = Field(
        0.05, ge=-1, le=1, description="a note with VADER compound sentiment at or above this is positive"
    )
    meeting_kinds: list[str] = Field(
        ["meeting", "demo"], description="activity kinds that start a follow-up cadence"
    )
    follow_up_kinds: list[str] = Field(["email"], description="activity kinds that count as follow-ups")
    follow_up_days: float = Field(
        10.0, gt=0, le=MAX_DAYS, description="follow-ups count within this many days after a meeting"
    )
    cadence_steps: int = Field(
        3, ge=1, le=100, description="follow-ups expected after each meeting (cadence)"
    )
    objection_terms: list[str] = Field(
        [
            "price",
            "pricing",
            "discount",
            "competitor",
            "security",
            "integration",
            "budget",
            "freeze",
            "timing",
        ],
        description="a theme whose top three terms hold one of these words is an objection (product knowledge)",
    )


class ForecastSettings(_Section):
    """The bookings forecast: which period, the run-rate window, and how wide its interval is."""

    lookback_days: float = Field(
        90.0, gt=0, le=MAX_DAYS, description="days of opportunity creation that set each rep's run-rate"
    )
    run_rate_half_life_days: float | None = Field(
        60.0,
        gt=0,
        le=MAX_DAYS,
        description="deal model: a created deal's weight in the run-rate halves every this many days, over the last "
        "three half-lives (none: equal weights over lookback_days)",
    )
    min_remaining_days: float = Field(
        7.0,
        ge=0,
        le=MAX_DAYS,
        description="forecast the next period when fewer days than this are left in the current one",
    )
    interval_scale: float = Field(
        1.5,
        gt=0,
        le=100,
        description="stretch of the P10-P90 around the P50 until the backtest has enough forecasts",
    )
    calibration_min_forecasts: int = Field(
        4,
        ge=1,
        le=10_000,
        description="backtest forecasts (with known outcome) needed to fit the stretch from the data",
    )
    backtest_min_wins: int = Field(
        5,
        ge=0,
        le=10_000,
        description="the backtest scores a forecast only when this many deals had been won by its as-of "
        "(before that there are no win rates or amounts to learn from)",
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


#: Shortest API token accepted: a short token falls to guessing even with throttled logins.
MIN_TOKEN_LENGTH = 16


class ApiSettings(_Section):
    """Bearer tokens accepted by `fairshare serve` (FAIRSHARE_API_TOKEN adds one)."""

    tokens: list[str] = []

    @field_validator("tokens")
    @classmethod
    def _long_enough(cls, v: list[str]) -> list[str]:
        short = [t for t in v if len(t) < MIN_TOKEN_LENGTH]
        if short:
            raise ValueError(
                f"{len(short)} token(s) shorter than {MIN_TOKEN_LENGTH} characters; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )
        return v


class IngestSettings(_Section):
    """Plausible years for imported times: a time outside them is a typo (year 99999), not data."""

    earliest_year: int = Field(1970, ge=1, le=9999)
    latest_year: int = Field(2100, ge=1, le=9999)

    @model_validator(mode="after")
    def _ordered(self) -> IngestSettings:
        if self.latest_year < self.earliest_year:
            raise ValueError(f"latest_year {self.latest_year} is before earliest_year {self.earliest_year}")
        return self


class TargetSettings(_Section):
    """Targets the business agreed on: `fairshare diagnose --vs target` explains the gap to them."""

    bookings: dict[str, float] = Field(
        default_factory=dict,
        description="bookings target per period label: quarters as 2025Q4, months as 2025-10",
    )


class Definitions(_Section):
    """The whole definitions file."""

    workspace: WorkspaceSettings = WorkspaceSettings()
    funnel: FunnelSettings = FunnelSettings()
    sla: SLASettings = SLASettings()
    attribution: AttributionSettings = AttributionSettings()
    teams: TeamSettings = TeamSettings()
    contribution: ContributionSettings = ContributionSettings()
    scoring: ScoringSettings = ScoringSettings()
    routing: RoutingSettings = RoutingSettings()
    economics: EconomicsSettings = EconomicsSettings()
    forecast: ForecastSettings = ForecastSettings()
    reps: RepSettings = RepSettings()
    notes: NoteSettings = NoteSettings()
    channels: ChannelSettings = ChannelSettings()
    api: ApiSettings = ApiSettings()
    ingest: IngestSettings = IngestSettings()
    targets: TargetSettings = TargetSettings()


def _drop_legacy_mql(raw: dict, source: str) -> None:
    """Files written before the [mql] section went keep it: ignored while it asks for what applies
    (mode "lifecycle"), refused when it asks for the engagement rule that was never applied."""
    legacy = raw.pop("mql", None)
    if isinstance(legacy, dict) and legacy.get("mode", "lifecycle") != "lifecycle":
        raise DefinitionsError(
            f"{source}: [mql] mode = {legacy['mode']!r} is not supported: a lead is an MQL when its lifecycle "
            "rows reach [funnel] mql_stage (docs/decisions.md); delete the [mql] section"
        )


def parse_definitions(text: str, source: str = CONFIG_NAME) -> Definitions:
    """Parse and validate definitions from TOML text (a leading byte-order mark is allowed)."""
    try:
        raw = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as e:
        raise DefinitionsError(f"{source}: not valid TOML: {e}") from None
    _drop_legacy_mql(raw, source)
    try:
        return Definitions.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc)
            if err["type"] == "extra_forbidden":
                problems.append(f"{source}: unknown key {str(loc[-1])!r} in [{'.'.join(map(str, loc[:-1])) or 'top'}]"
                                f"{DefinitionsError.unknown_key_hint(Definitions, loc)}")  # fmt: skip
            else:
                problems.append(
                    f"{source}: {where}: {err['msg']}{DefinitionsError.allowed_range(Definitions, loc)}"
                )
        raise DefinitionsError("\n".join(problems)) from None


def load_definitions(path: Path) -> Definitions:
    """Load `fairshare.toml` from a file (defaults when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return Definitions()
    try:
        text = path.read_bytes().decode("utf-8")
    except IsADirectoryError:
        raise DefinitionsError(
            f"{path} is a folder, not a file; remove it and run `fairshare init`"
        ) from None
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise DefinitionsError(f"{path}: not UTF-8 (byte 0x{e.object[e.start]:02x} on line {line}); "
                               "save it as UTF-8") from None  # fmt: skip
    except OSError as e:
        raise DefinitionsError(f"{path}: cannot be read: {e.strerror or e}") from None
    return parse_definitions(text, source=str(path))


def definitions_hash(path: Path) -> str:
    """SHA-256 of the definitions file's bytes (empty string hashed when it is absent)."""
    data = Path(path).read_bytes() if Path(path).is_file() else b""
    return hashlib.sha256(data).hexdigest()


def default_toml(warehouse: str | None = None) -> str:
    """The commented default definitions file, with `warehouse` as its warehouse URL if given."""
    if warehouse is None:
        return DEFAULT_TOML
    line = 'warehouse = "duckdb:///{workspace}/fairshare.duckdb"'
    return DEFAULT_TOML.replace(line, f"warehouse = {json.dumps(warehouse)}", 1)


#: The commented default definitions file (`defaults/fairshare.toml`, shipped in the wheel).
DEFAULT_TOML = (files("fairshare") / "defaults" / "fairshare.toml").read_text(encoding="utf-8")
