"""Point-in-time lead features, computed in the warehouse (Ibis expressions), and lead outcomes.

Every lead is scored at `scored_at = created_at + horizon_days`. A feature may only use events
stamped at or before that time. Each feature block returns, next to its features, an `as_of`
column: the latest event time it used for the lead. `LeadFeatures.build` checks in the warehouse
that `as_of <= scored_at` for every lead and block, and raises `LeakageError` otherwise, so a
block that peeks at the future fails loudly instead of inflating the model's accuracy.

Blocks (all features numeric unless listed in `CATEGORICAL`):

- lead: source channel and team, campaign channel;
- fit: account industry, region, log employees, log annual revenue; contact persona and title;
- interest: marketing touches on the account in the lookback window before `scored_at` — counts
  over 7/30/lookback days, per kind and per channel, cost, days since the last and first touch,
  distinct channels, touches on the lead's own contact;
- committee: contacts of the account known at `scored_at`, distinct contacts touched;
- response: rep activities on the account before `scored_at`, hours to the first rep response on
  the lead (known only when it happened before `scored_at`, i.e. with a horizon > 0);
- history: earlier leads, opportunities and won deals of the account (closed before `scored_at`),
  account age.

Firmographics (industry, employees, region) and contact titles carry no time stamp in the import
format; they are taken as known when the lead arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis import _

from fairshare import schema, warehouse
from fairshare.config import ScoringSettings
from fairshare.periods import DAY_SECONDS as DAY
from fairshare.periods import seconds

#: Categorical features (strings); every other feature is a number.
CATEGORICAL = ("source_channel", "source_team", "campaign_channel", "industry", "region", "persona", "title",
               "first_rep")  # fmt: skip
#: Activity outcomes that mean the rep reached the person.
CONNECTED_OUTCOMES = ("connected", "held", "interested", "not interested", "already engaged")
#: Features that describe the sales team's handling of the lead (left out when rating reps).
SALES_RESPONSE = ("rep_activities", "rep_calls", "rep_meetings", "lead_attempts", "lead_connects", "first_rep",
                  "hours_to_first_response", "leads_last_7d")  # fmt: skip


class LeakageError(AssertionError):
    """A feature used information stamped after the lead's scoring time."""


@dataclass(frozen=True)
class FeatureContext:
    """What a feature block sees: the warehouse connection, the scored leads and the windows."""

    con: ibis.BaseBackend
    leads: ir.Table  # lead_id, account_id, contact_id, created_at, scored_at, ... (one row per lead)
    lookback_days: float


FeatureBlock = Callable[[FeatureContext], ir.Table]


def _in_window(at: ir.TimestampValue, leads: ir.Table, lookback_days: float) -> ir.BooleanValue:
    return (at <= leads.scored_at) & (seconds(leads.scored_at) - seconds(at) <= lookback_days * DAY)


def lead_block(ctx: FeatureContext) -> ir.Table:
    """Source channel and team of the lead, channel of its campaign."""
    campaigns = ctx.con.table("campaigns").select(cmp_id=_.campaign_id, campaign_channel=_.channel)
    j = ctx.leads.left_join(campaigns, ctx.leads.campaign_id == campaigns.cmp_id)
    return j.select("lead_id", "source_channel", "source_team", "campaign_channel", as_of=j.created_at)


def fit_block(ctx: FeatureContext) -> ir.Table:
    """Firmographics of the account and the contact's persona and title."""
    accounts = ctx.con.table("accounts").select(
        a_id=_.account_id,
        industry=_.industry,
        region=_.region,
        employees=_.employees,
        revenue=_.annual_revenue,
    )
    contacts = ctx.con.table("contacts").select(c_id=_.contact_id, persona=_.persona, title=_.title)
    j = ctx.leads.left_join(accounts, ctx.leads.account_id == accounts.a_id)
    j = j.left_join(contacts, j.contact_id == contacts.c_id)
    return j.select(
        "lead_id",
        industry=j.industry,
        region=j.region,
        persona=j.persona,
        title=j.title,
        log_employees=(j.employees.cast("float64") + 1).ln(),
        log_annual_revenue=(j.revenue + 1).ln(),
        as_of=j.created_at,
    )


def interest_block(ctx: FeatureContext, kinds: Sequence[str], channels: Sequence[str]) -> ir.Table:
    """Marketing touches on the account before the scoring time (lookback window)."""
    touches = warehouse.touches_with_account(ctx.con).select(
        t_account=_.account_id,
        t_contact=_.contact_id,
        t_at=_.at,
        t_channel=_.channel,
        t_kind=_.kind,
        t_cost=_.cost,
    )
    leads = ctx.leads.select("lead_id", "account_id", "contact_id", "scored_at")
    j = leads.join(touches, leads.account_id == touches.t_account)
    j = j.filter(_in_window(j.t_at, j, ctx.lookback_days))
    age_days = (seconds(j.scored_at) - seconds(j.t_at)) / DAY
    metrics = {
        "touches": j.t_at.count(),
        "touches_7d": (age_days <= 7).cast("int64").sum(),
        "touches_30d": (age_days <= 30).cast("int64").sum(),
        "touch_cost": j.t_cost.sum(),
        "days_since_last_touch": age_days.min(),
        "days_since_first_touch": age_days.max(),
        "touch_channels": j.t_channel.nunique(),
        "contacts_touched": j.t_contact.nunique(),
        "touches_on_lead_contact": (j.t_contact == j.contact_id).cast("int64").sum(),
        "as_of": j.t_at.max(),
    }
    for kind in kinds:
        metrics[f"touches_kind_{kind}"] = (j.t_kind == kind).cast("int64").sum()
    for channel in channels:
        metrics[f"touches_channel_{_slug(channel)}"] = (j.t_channel == channel).cast("int64").sum()
    agg = j.group_by("lead_id").agg(**metrics)
    return agg


def committee_block(ctx: FeatureContext) -> ir.Table:
    """Contacts of the account known at the scoring time (buying-committee breadth)."""
    contacts = ctx.con.table("contacts").select(
        c_account=_.account_id, c_created=_.created_at, c_id=_.contact_id
    )
    leads = ctx.leads.select("lead_id", "account_id", "scored_at")
    j = leads.join(contacts, leads.account_id == contacts.c_account)
    j = j.filter(j.c_created.isnull() | (j.c_created <= j.scored_at))
    return j.group_by("lead_id").agg(account_contacts=j.c_id.nunique(), as_of=j.c_created.max())


def response_block(ctx: FeatureContext) -> ir.Table:
    """Rep work on the lead and account before the scoring time: first response, attempts, connects, rep."""
    acts = warehouse.activities_with_account(ctx.con).select(
        a_account=_.account_id, a_lead=_.lead_id, a_contact=_.contact_id, a_at=_.at, a_kind=_.kind,
        a_rep=_.rep_id, a_outcome=_.outcome,
    )  # fmt: skip
    leads = ctx.leads.select("lead_id", "account_id", "contact_id", "created_at", "scored_at")
    j = leads.join(acts, leads.account_id == acts.a_account)
    j = j.filter(_in_window(j.a_at, j, ctx.lookback_days))
    on_lead = (j.a_lead == j.lead_id) | (j.a_lead.isnull() & (j.a_contact == j.contact_id))
    j = j.mutate(on_lead=on_lead.fill_null(False) & (j.a_at >= j.created_at))
    first = ibis.cases((j.on_lead, seconds(j.a_at)), else_=ibis.null("float64")).min()
    connected = j.on_lead & j.a_outcome.fill_null("").isin(CONNECTED_OUTCOMES)
    agg = j.group_by("lead_id").agg(
        rep_activities=j.a_at.count(),
        rep_calls=(j.a_kind == "call").cast("int64").sum(),
        rep_meetings=(j.a_kind.isin(["meeting", "demo"])).cast("int64").sum(),
        lead_attempts=j.on_lead.cast("int64").sum(),
        lead_connects=connected.cast("int64").sum(),
        first_response_s=first,
        first_rep=ibis.cases((j.on_lead, j.a_rep), else_=ibis.null("string")).argmin(
            ibis.cases((j.on_lead, seconds(j.a_at)), else_=ibis.null("float64"))
        ),
        as_of=j.a_at.max(),
    )
    created = leads.select(l_id=_.lead_id, l_created=_.created_at)
    back = agg.join(created, agg.lead_id == created.l_id)
    return back.select(
        "lead_id",
        "rep_activities",
        "rep_calls",
        "rep_meetings",
        "lead_attempts",
        "lead_connects",
        "first_rep",
        hours_to_first_response=(back.first_response_s - seconds(back.l_created)) / 3600.0,
        as_of=back.as_of,
    )


def stage_block(ctx: FeatureContext, stages: Sequence[str]) -> ir.Table:
    """Lead stages (lifecycle) the lead reached by the scoring time, one 0/1 feature per stage."""
    life = (
        ctx.con.table("lifecycle")
        .filter(_.entity == "lead")
        .select(e_id=_.entity_id, e_stage=_.stage, e_at=_.at)
    )
    leads = ctx.leads.select("lead_id", "scored_at")
    j = leads.join(life, (leads.lead_id == life.e_id) & (life.e_at <= leads.scored_at))
    metrics = {f"stage_{_slug(s)}": (j.e_stage == s).cast("int64").max() for s in stages}
    return j.group_by("lead_id").agg(**metrics, as_of=j.e_at.max())


def queue_block(ctx: FeatureContext, days: float = 7.0) -> ir.Table:
    """Leads created in the `days` before this one (how busy sales is when the lead arrives)."""
    leads = ctx.leads.select("lead_id", "created_at")
    other = ctx.con.table("leads").select(q_id=_.lead_id, q_at=_.created_at)
    j = leads.join(
        other,
        (other.q_at < leads.created_at) & (seconds(leads.created_at) - seconds(other.q_at) <= days * DAY),
    )
    return j.group_by("lead_id").agg(leads_last_7d=j.q_id.count(), as_of=j.q_at.max())


def history_block(ctx: FeatureContext) -> ir.Table:
    """Earlier leads and deals of the same account, and the account's age."""
    leads = ctx.leads.select("lead_id", "account_id", "created_at", "scored_at")
    prior = ctx.con.table("leads").select(p_account=_.account_id, p_created=_.created_at, p_id=_.lead_id)
    jl = leads.join(prior, (leads.account_id == prior.p_account) & (prior.p_created < leads.created_at))
    prior_leads = jl.group_by("lead_id").agg(prior_leads=jl.p_id.count(), as_of=jl.p_created.max())

    opps = ctx.con.table("opportunities").select(
        o_account=_.account_id,
        o_created=_.created_at,
        o_closed=_.closed_at,
        o_won=_.is_won,
        o_amount=_.amount,
    )
    jo = leads.join(opps, (leads.account_id == opps.o_account) & (opps.o_created < leads.created_at))
    closed = jo.o_closed.notnull() & (jo.o_closed <= jo.scored_at)
    won = closed & jo.o_won.fill_null(False)
    prior_opps = jo.group_by("lead_id").agg(
        prior_opportunities=jo.o_created.count(),
        prior_won_deals=won.cast("int64").sum(),
        prior_won_amount=ibis.cases((won, jo.o_amount), else_=0.0).sum(),
        as_of=ibis.greatest(jo.o_created, ibis.cases((closed, jo.o_closed), else_=jo.o_created)).max(),
    )
    accounts = ctx.con.table("accounts").select(a_id=_.account_id, a_created=_.created_at)
    ja = leads.join(accounts, leads.account_id == accounts.a_id)
    ja = ja.filter(ja.a_created.notnull() & (ja.a_created <= ja.scored_at))
    age = ja.select(
        "lead_id",
        account_age_days=(seconds(ja.scored_at) - seconds(ja.a_created)) / DAY,
        as_of=ja.a_created,
    )
    return _combine(leads.select("lead_id"), [prior_leads, prior_opps, age])


def _combine(base: ir.Table, parts: Sequence[ir.Table]) -> ir.Table:
    """Left-join blocks on lead_id; `as_of` becomes the latest of the parts' `as_of`."""
    out = base
    stamps = []
    for i, part in enumerate(parts):
        part = part.rename({f"as_of_{i}": "as_of", f"lead_id_{i}": "lead_id"})
        out = out.left_join(part, out.lead_id == part[f"lead_id_{i}"]).drop(f"lead_id_{i}")
        stamps.append(f"as_of_{i}")
    floor = ibis.timestamp("1900-01-01 00:00:00")
    latest = (
        ibis.greatest(*[ibis.coalesce(out[s], floor) for s in stamps]) if len(stamps) > 1 else out[stamps[0]]
    )
    return out.mutate(as_of=latest).drop(*stamps)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(text).lower()).strip("_") or "none"


@dataclass
class LeadFeatures:
    """Builds the point-in-time feature frame of leads (one row per lead_id).

    `horizon_days`: scoring time = lead created_at + horizon (0: score on arrival, as routing
    needs; a few days lets first-response and early engagement count). `lookback_days`: touch
    and activity window before the scoring time. `extra_blocks`: more feature blocks (each a
    function of a `FeatureContext` returning lead_id, `as_of` and features) — held to the same
    leakage guard.
    """

    horizon_days: float = 0.0
    lookback_days: float = 180.0
    sales_response: bool = True
    stages: Sequence[str] = ("MQL", "SAL", "SQL", "rejected")
    extra_blocks: Sequence[FeatureBlock] = field(default_factory=tuple)

    def scored_leads(self, con: ibis.BaseBackend) -> ir.Table:
        leads = warehouse.leads_with_account(con)
        return leads.mutate(
            scored_at=leads.created_at + ibis.interval(seconds=int(round(self.horizon_days * DAY)))
        )

    def blocks(self, con: ibis.BaseBackend) -> list[tuple[str, FeatureBlock]]:
        channels = sorted(con.table("touches").select("channel").distinct().to_pandas()["channel"].dropna())
        return [
            ("lead", lead_block),
            ("fit", fit_block),
            ("interest", lambda ctx: interest_block(ctx, schema.TOUCH_KINDS, channels)),
            ("committee", committee_block),
            ("stages", lambda ctx: stage_block(ctx, self.stages)),
            *([("response", response_block), ("queue", queue_block)] if self.sales_response else []),
            ("history", history_block),
            *[(getattr(b, "__name__", f"extra_{i}"), b) for i, b in enumerate(self.extra_blocks)],
        ]

    def build(self, con: ibis.BaseBackend) -> pd.DataFrame:
        """Feature frame indexed by lead_id, with account_id, created_at, scored_at first.

        Raises LeakageError when any block used an event stamped after a lead's scoring time.
        """
        leads = self.scored_leads(con)
        ctx = FeatureContext(con=con, leads=leads, lookback_days=self.lookback_days)
        frame = (
            leads.select("lead_id", "account_id", "created_at", "scored_at").to_pandas().set_index("lead_id")
        )
        for name, block in self.blocks(con):
            expr = block(ctx)
            self.check_point_in_time(name, expr, leads)
            part = expr.to_pandas().drop(columns="as_of").set_index("lead_id")
            frame = frame.join(part, how="left")
        for col in frame.columns:
            if col.startswith(("touches", "rep_", "prior_", "touch_", "lead_", "stage_")) or col in (
                "contacts_touched",
                "account_contacts",
            ):
                frame[col] = frame[col].fillna(0.0).astype(float)
        for col in CATEGORICAL:
            if col in frame:
                frame[col] = frame[col].astype(object).where(frame[col].notna(), np.nan)
        return frame.sort_index()

    @staticmethod
    def check_point_in_time(name: str, block: ir.Table, leads: ir.Table) -> None:
        """Raise LeakageError if `block` has an `as_of` later than the lead's `scored_at`."""
        if "as_of" not in block.columns:
            raise LeakageError(f"feature block {name!r} has no as_of column (latest event time it used)")
        s = leads.select(s_id=_.lead_id, s_at=_.scored_at)
        j = block.join(s, block.lead_id == s.s_id)
        late = j.filter(j.as_of > j.s_at)
        n = int(late.count().execute())
        if n:
            example = late.select("lead_id", "as_of", "s_at").limit(1).to_pandas().iloc[0]
            raise LeakageError(
                f"feature block {name!r} uses events after the scoring time for {n} lead(s), e.g. lead "
                f"{example['lead_id']}: event at {example['as_of']} > scored at {example['s_at']}"
            )


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """The model features of a frame from `LeadFeatures.build` (not ids or time stamps)."""
    return [c for c in frame.columns if c not in ("account_id", "created_at", "scored_at")]


# --- outcomes (labels for training; never features) -----------------------------------------------


def lead_outcomes(
    con: ibis.BaseBackend, maturity_days: float = 90.0, activity_minutes: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per lead: opportunity (0/1), won (0/1), won_amount, effort_hours, resolved (bool).

    An opportunity belongs to a lead through `opportunities.lead_id`. `effort_hours` is the rep
    time spent on the lead and its opportunities: each activity's `duration_s`, or when it has none
    the minutes of its kind in `activity_minutes` (default: `fairshare.toml` [scoring]). A lead is resolved when
    its opportunities are all closed, or when it has none and is older than `maturity_days` at
    the last event in the warehouse; only resolved leads train the models.
    """
    leads = con.table("leads").select("lead_id", "created_at")
    opps = con.table("opportunities").filter(_.lead_id.notnull())
    per_lead = opps.group_by("lead_id").agg(
        n_opps=_.opportunity_id.count(),
        n_open=(~_.is_closed.fill_null(False)).cast("int64").sum(),
        n_won=_.is_won.fill_null(False).cast("int64").sum(),
        won_amount=ibis.cases((_.is_won.fill_null(False), _.amount), else_=0.0).sum(),
    )
    acts = con.table("activities")
    opp_lead = con.table("opportunities").select(o_id=_.opportunity_id, o_lead=_.lead_id)
    ja = acts.left_join(opp_lead, acts.opportunity_id == opp_lead.o_id)
    ja = ja.mutate(for_lead=ibis.coalesce(ja.lead_id, ja.o_lead)).filter(_.for_lead.notnull())
    minutes = ScoringSettings().activity_minutes if activity_minutes is None else activity_minutes
    branches = [(ja.kind == k, 60.0 * m) for k, m in minutes.items()]
    default_s = ibis.cases(*branches, else_=0.0) if branches else ibis.literal(0.0)
    spent_s = ibis.coalesce(ja.duration_s.cast("float64"), default_s)
    effort = ja.group_by(lead_key=ja.for_lead).agg(effort_hours=spent_s.sum() / 3600.0)
    out = leads.left_join(per_lead, leads.lead_id == per_lead.lead_id).drop("lead_id_right")
    out = out.left_join(effort, out.lead_id == effort.lead_key).drop("lead_key")
    frame = out.to_pandas().set_index("lead_id").sort_index()
    last = last_event(con)
    frame["opportunity"] = (frame["n_opps"].fillna(0) > 0).astype(int)
    frame["won"] = (frame["n_won"].fillna(0) > 0).astype(int)
    frame["won_amount"] = frame["won_amount"].fillna(0.0).astype(float)
    frame["effort_hours"] = frame["effort_hours"].fillna(0.0).astype(float)
    age = (last - pd.to_datetime(frame["created_at"])).dt.total_seconds() / DAY if last is not None else 0.0
    no_open = frame["n_open"].fillna(0) == 0
    frame["resolved"] = no_open & ((frame["opportunity"] == 1) | (age >= maturity_days))
    return frame[["opportunity", "won", "won_amount", "effort_hours", "resolved"]]


def last_event(con: ibis.BaseBackend) -> pd.Timestamp | None:
    """The latest time stamp in the warehouse ("now" for a snapshot of a company)."""
    stamps = []
    for name, col in (("leads", "created_at"), ("touches", "at"), ("activities", "at"), ("opportunities", "created_at"),
                      ("opportunities", "closed_at")):  # fmt: skip
        v = con.table(name)[col].max().execute()
        if v is not None and not pd.isna(v):
            stamps.append(pd.Timestamp(v))
    return max(stamps) if stamps else None


# --- leakage: columns recorded after the outcome -----------------------------------------------------

#: A single column that alone separates the outcome this well (ROC AUC) was almost surely filled in
#: after it (e.g. a segment known only for converted leads); such columns are left out by default.
LEAKAGE_AUC = 0.95


def leaky_columns(
    X: pd.DataFrame, y: np.ndarray, threshold: float = LEAKAGE_AUC, folds: int = 5
) -> dict[str, str]:
    """{column: why} for each column whose values, or whose missingness, alone predict `y` with AUC > threshold.

    Categories are scored by their out-of-fold outcome rate, so a many-valued column does not look
    predictive by memorising its rows; numbers by their own order. Needs both outcomes `folds` times.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y).astype(int)
    if len(y) < 2 * folds or min(np.bincount(y, minlength=2)) < folds:
        return {}
    fold = np.arange(len(y)) % folds
    np.random.default_rng(0).shuffle(fold)
    found: dict[str, str] = {}

    def auc(score: np.ndarray, mask: np.ndarray) -> float:
        if mask.sum() < 2 * folds or len(np.unique(y[mask])) < 2:
            return 0.5
        a = roc_auc_score(y[mask], score[mask])
        return max(a, 1 - a)

    for col in X.columns:
        values = X[col].reset_index(drop=True)
        missing = values.isna().to_numpy()
        if (
            0 < missing.sum() < len(missing)
            and (a := auc(missing.astype(float), np.ones(len(y), bool))) > threshold
        ):
            found[str(col)] = f"whether it is filled in predicts the outcome alone (AUC {a:.3f})"
            continue
        present = ~missing
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            score = values.to_numpy(float, na_value=np.nan)
        else:
            text = values.astype("string")
            score = np.full(len(y), np.nan)
            for k in range(folds):
                train, test = (fold != k) & present, (fold == k) & present
                if not train.any() or not test.any():
                    continue
                rates = pd.Series(y[train]).groupby(text[train].to_numpy()).mean()
                score[test] = text[test].map(rates).astype(float).fillna(y[train].mean()).to_numpy()
        if (a := auc(np.nan_to_num(score, nan=0.0), present)) > threshold:
            found[str(col)] = f"its values predict the outcome alone (AUC {a:.3f})"
    return found
