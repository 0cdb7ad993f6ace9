"""`Diagnosis`: why bookings changed between two periods, the primary cause, and what to do about it.

Bookings of a period (won amount of deals closed in it) factor exactly as

    B = N x q x c x x x s

N leads arrived, q their mean P(win) at arrival (lead quality, from what was known before any sales
work), c the share of them contacted (coverage: capacity and speed), x = wins / (N q c) (conversion
net of lead quality: sales execution) and s the mean won deal size. The log change of B is the sum of
the log changes of the factors; each factor's share of the bookings change is its log change over
the total. Leads and deals are resampled within each period (bootstrap) for intervals.

Primary cause (`CAUSES`): "no significant change" unless the bookings change's interval excludes 0;
otherwise the cause group (lead generation = volume + quality; sales capacity = coverage; sales
execution = conversion; deal size = size) that moved most in the direction of the change, if its
interval excludes 0 too. Recommendations value the unworked leads, the slow responses, lost volume,
lost conversion and lost deal size in money, each with a bootstrap interval, and rank them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

CAUSES = ("lead generation", "sales execution", "sales capacity", "deal size", "no significant change")
FACTORS = {  # factor -> (plain words, cause group)
    "lead_volume": ("leads that arrived", "lead generation"),
    "lead_quality": ("mean P(win) of arriving leads", "lead generation"),
    "coverage": ("share of leads contacted", "sales capacity"),
    "conversion": ("wins per expected win of contacted leads", "sales execution"),
    "deal_size": ("mean won deal size", "deal size"),
}
EVIDENCE_COLUMNS = [
    "factor",
    "cause",
    "description",
    "previous",
    "current",
    "change",
    "effect",
    "ci_low",
    "ci_high",
]
RECOMMENDATION_COLUMNS = ["rank", "action", "cause", "effect", "ci_low", "ci_high", "detail", "factor"]
RESTORE = {  # factor -> what restoring it takes
    "lead_volume": "restore lead volume (campaigns and sources that fell)",
    "lead_quality": "restore lead quality (targeting, MQL rule)",
    "coverage": "restore the share of leads worked (SDR capacity, routing by value)",
    "conversion": "restore conversion net of lead quality (coaching, deal reviews)",
    "deal_size": "restore deal size (pricing, discounting, packaging)",
}


def _period_bounds(as_of: pd.Timestamp, period: str) -> tuple[pd.Period, pd.Period]:
    """The latest period complete at `as_of` and the one before it."""
    freq = {"quarter": "Q", "month": "M"}[period]
    current = pd.Period(as_of, freq=freq)
    if as_of < current.end_time.normalize():  # complete once its last day has started (data ends that day)
        current = current - 1
    return current, current - 1


class Diagnosis(BaseEstimator):
    """Bookings change decomposed into lead generation, capacity, execution and deal size; ranked fixes.

    Parameters: `period` ("quarter" or "month"), `as_of` (None = the last event), `level` (interval
    level shown; the bookings change must clear it), `significance` (interval level the cause group's
    change must clear to be named), `n_boot`, `speed_coef` (log-odds of winning per log(1 + days) a lead
    waits, for the SLA recommendation), `lag_days` (the leads of a period are those created this many days
    before it: the typical lead-to-close time, so the leads and the deals they became line up), `vs`
    ("previous", or "target": the gap to `target` bookings, whose plan is taken to be the previous period's
    funnel with lead volume scaled to reach the target, a stated assumption), `random_state`. `fit(leads, deals, contact_value)`: `leads` has lead_id,
    created_at, source, p_win_at_arrival, expected_amount, contacted (bool), wait_hours, sla_hours;
    `deals` has closed_at, amount (won deals). Learned: `result_` (a dict: period, previous_period,
    primary_cause, bookings, previous_bookings, evidence rows, recommendations rows), `evidence_`,
    `recommendations_`, `primary_cause_`.
    """

    def __init__(self, period: str = "quarter", as_of: pd.Timestamp | None = None, level: float = 0.9,
                 significance: float = 0.95, n_boot: int = 300, speed_coef: float = 0.0,
                 lag_days: float = 0.0, vs: str = "previous", target: float | None = None,
                 random_state: int = 0):  # fmt: skip
        self.period = period
        self.as_of = as_of
        self.level = level
        self.significance = significance
        self.n_boot = n_boot
        self.speed_coef = speed_coef
        self.lag_days = lag_days
        self.vs = vs
        self.target = target
        self.random_state = random_state

    def fit(self, leads: pd.DataFrame, deals: pd.DataFrame) -> Diagnosis:
        if self.period not in ("quarter", "month"):
            raise ValueError(f"period must be 'quarter' or 'month', got {self.period!r}")
        if self.vs not in ("previous", "target"):
            raise ValueError(f"vs must be 'previous' or 'target', got {self.vs!r}")
        if self.vs == "target" and not (self.target is not None and self.target > 0):
            raise ValueError("vs='target' needs a positive target (bookings of the period)")
        rng = np.random.default_rng(self.random_state)
        created = pd.to_datetime(leads["created_at"])
        closed = pd.to_datetime(deals["closed_at"])
        as_of = pd.Timestamp(self.as_of) if self.as_of is not None else max(created.max(), closed.max())
        cur, prev = _period_bounds(as_of, self.period)
        feeds = created + pd.Timedelta(days=float(self.lag_days))  # the period whose bookings a lead feeds
        in_period = {
            p: (leads[feeds.dt.to_period(cur.freqstr) == p], deals[closed.dt.to_period(cur.freqstr) == p])
            for p in (prev, cur)
        }
        point = {p: self._factors(*in_period[p]) for p in (prev, cur)}
        boots = {p: self._boot(*in_period[p], rng) for p in (prev, cur)}
        if self.vs == "target":
            point[prev], boots[prev] = self._plan(point[prev], boots[prev])
        q = ((1 - self.level) / 2, (1 + self.level) / 2)
        t = ((1 - self.significance) / 2, (1 + self.significance) / 2)
        b0, b1 = point[prev]["bookings"], point[cur]["bookings"]
        delta_b = b1 - b0
        log_total = np.log(max(b1, 1.0) / max(b0, 1.0))
        rows = []
        for f, (words, cause) in FACTORS.items():
            v0, v1 = point[prev][f], point[cur][f]
            logs = np.log(np.maximum(boots[cur][f], 1e-12) / np.maximum(boots[prev][f], 1e-12))
            share = np.log(max(v1, 1e-12) / max(v0, 1e-12)) / log_total if log_total else 0.0
            # a factor's $ effect: its log change as a share of the log change, times the $ change
            boot_total = np.log(
                np.maximum(boots[cur]["bookings"], 1.0) / np.maximum(boots[prev]["bookings"], 1.0)
            )
            boot_delta = boots[cur]["bookings"] - boots[prev]["bookings"]
            with np.errstate(divide="ignore", invalid="ignore"):
                boot_effect = np.where(np.abs(boot_total) > 1e-9, logs / boot_total * boot_delta, 0.0)
            rows.append({"factor": f, "cause": cause, "description": words, "previous": v0, "current": v1,
                         "change": v1 / v0 - 1 if v0 else np.nan, "effect": share * delta_b,
                         "ci_low": float(np.quantile(boot_effect, q[0])),
                         "ci_high": float(np.quantile(boot_effect, q[1])), "log_low": float(np.quantile(logs, t[0])),
                         "log_high": float(np.quantile(logs, t[1]))})  # fmt: skip
        booked = boots[cur]["bookings"] - boots[prev]["bookings"]
        rows.append({"factor": "bookings", "cause": "", "description": "won amount of deals closed in the period",
                     "previous": b0, "current": b1, "change": b1 / b0 - 1 if b0 else np.nan, "effect": delta_b,
                     "ci_low": float(np.quantile(booked, q[0])), "ci_high": float(np.quantile(booked, q[1])),
                     "log_low": float(np.quantile(booked, t[0])), "log_high": float(np.quantile(booked, t[1]))})  # fmt: skip
        evidence = pd.DataFrame(rows)
        self.primary_cause_ = self._cause(evidence, delta_b)
        self.evidence_ = evidence[EVIDENCE_COLUMNS]
        self.recommendations_ = self._recommend(
            in_period[cur][0], evidence, point, boots, (prev, cur), rng, q
        )
        self.result_ = {
            "period": str(cur), "previous_period": "target" if self.vs == "target" else str(prev),
            "vs": self.vs, "as_of": as_of.isoformat(),
            "primary_cause": self.primary_cause_, "bookings": b1, "previous_bookings": b0,
            "evidence": self.evidence_.to_dict(orient="records"),
            "recommendations": self.recommendations_.to_dict(orient="records"),
        }  # fmt: skip
        return self

    # --- factors --------------------------------------------------------------------------------

    def _plan(self, point: dict, boots: dict) -> tuple[dict, dict]:
        """The target as a plan: the previous period's funnel with lead volume scaled to book the target."""
        k = self.target / point["bookings"] if point["bookings"] > 0 else np.nan
        if not np.isfinite(k):
            raise ValueError("vs='target' needs bookings in the previous period to scale its funnel")
        plan = {**point, "lead_volume": point["lead_volume"] * k, "bookings": float(self.target)}
        draws = {
            **boots,
            "lead_volume": boots["lead_volume"] * k,
            "bookings": np.full(self.n_boot, float(self.target)),
        }
        return plan, draws

    @staticmethod
    def _factors(leads: pd.DataFrame, deals: pd.DataFrame) -> dict[str, float]:
        n = float(len(leads))
        q = float(leads["p_win_at_arrival"].mean()) if n else np.nan
        c = float(leads["contacted"].mean()) if n else np.nan
        wins = float(len(deals))
        s = float(deals["amount"].mean()) if wins else 0.0
        x = wins / (n * q * c) if n and q and c else np.nan
        return {"lead_volume": n, "lead_quality": q, "coverage": c, "conversion": x, "deal_size": s,
                "bookings": float(deals["amount"].sum())}  # fmt: skip

    def _boot(
        self, leads: pd.DataFrame, deals: pd.DataFrame, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Each factor over `n_boot` resamples (volume and wins as Poisson counts around the observed)."""
        p = leads["p_win_at_arrival"].to_numpy(float)
        cont = leads["contacted"].to_numpy(float)
        amt = deals["amount"].to_numpy(float)
        nl, nd = len(p), len(amt)
        out = {k: np.empty(self.n_boot) for k in (*FACTORS, "bookings")}
        for b in range(self.n_boot):
            n = rng.poisson(nl) if nl else 0
            idx = rng.integers(0, nl, n) if nl and n else np.zeros(0, int)
            w = rng.poisson(nd) if nd else 0
            d = amt[rng.integers(0, nd, w)] if nd and w else np.zeros(0)
            q = p[idx].mean() if n else np.nan
            c = cont[idx].mean() if n else np.nan
            out["lead_volume"][b], out["lead_quality"][b], out["coverage"][b] = n, q, c
            out["conversion"][b] = w / (n * q * c) if n and q and c else np.nan
            out["deal_size"][b] = d.mean() if w else 0.0
            out["bookings"][b] = d.sum()
        return out

    def _cause(self, evidence: pd.DataFrame, delta_b: float) -> str:
        total = evidence.set_index("factor").loc["bookings"]
        if total["ci_low"] <= 0 <= total["ci_high"]:  # the shown interval of the $ change
            return "no significant change"
        sign = np.sign(delta_b)
        factors = evidence[evidence["factor"] != "bookings"].copy()
        factors["significant"] = (factors["log_low"] > 0) | (factors["log_high"] < 0)
        by_cause = factors.groupby("cause").agg(effect=("effect", "sum"), significant=("significant", "any"))
        moved = by_cause[(np.sign(by_cause["effect"]) == sign) & by_cause["significant"]]
        if moved.empty:
            return "no significant change"
        return str((moved["effect"] * sign).idxmax())

    # --- recommendations ------------------------------------------------------------------------

    def _recommend(self, leads: pd.DataFrame, evidence: pd.DataFrame, point: dict, boots: dict, periods: tuple,
                   rng: np.random.Generator, q: tuple[float, float]) -> pd.DataFrame:  # fmt: skip
        prev, cur = periods
        value = (leads["p_win_at_arrival"] * leads["expected_amount"]).to_numpy(float)
        contacted = leads["contacted"].to_numpy(bool)
        # what contact adds: contacted leads won x times their arrival expectation; unworked leads won nothing
        conv = point[cur]["conversion"]
        lift = conv if np.isfinite(conv) else 1.0
        rows = []
        never = ~contacted
        if never.any():
            draws = self._sum_boot(value[never] * lift, rng)
            rows.append({"action": f"work the {int(never.sum()):,} never-contacted leads of the period: add SDR "
                         "capacity or route by value (fairshare queue)", "cause": "sales capacity",
                         "factor": "never_contacted", "effect": float(value[never].sum() * lift), "draws": draws,
                         "detail": f"{int(never.sum()):,} leads never contacted, expected value if worked like "
                         "the contacted ones"})  # fmt: skip
        if self.speed_coef < 0 and "wait_hours" in leads:
            wait = leads["wait_hours"].to_numpy(float)
            sla = leads["sla_hours"].to_numpy(float)
            late = contacted & (wait > sla)
            if late.any():
                gain = value[late] * lift * (np.exp(-self.speed_coef * (np.log1p(wait[late] / 24) -
                                                                        np.log1p(sla[late] / 24))) - 1)  # fmt: skip
                rows.append({"action": f"answer the {int(late.sum()):,} leads that missed the first-contact SLA "
                             "within it", "cause": "sales capacity", "factor": "speed", "effect": float(gain.sum()),
                             "draws": self._sum_boot(gain, rng), "detail": "odds of winning fall with each day a lead "
                             f"waits (fitted coefficient {self.speed_coef:.2f} per log(1 + days))"})  # fmt: skip
        ev = evidence.set_index("factor")
        booked = boots[cur]["bookings"]
        for factor, action in RESTORE.items():
            v0, v1 = point[prev][factor], point[cur][factor]
            if not (np.isfinite(v0) and np.isfinite(v1)) or v1 <= 0 or v1 >= v0:
                continue
            # bookings had the factor stayed where it was: this period's bookings x previous / current factor
            with np.errstate(divide="ignore", invalid="ignore"):
                draws = booked * (boots[prev][factor] / boots[cur][factor] - 1)
            draws = draws[np.isfinite(draws)]
            rows.append({"action": action, "cause": ev.loc[factor, "cause"], "factor": factor,
                         "effect": float(point[cur]["bookings"] * (v0 / v1 - 1)),
                         "draws": draws if draws.size else np.zeros(1),
                         "detail": f"{ev.loc[factor, 'description']}: {v0:,.4g} → {v1:,.4g}"})  # fmt: skip
        out = []
        for r in rows:
            low, high = np.quantile(r["draws"], q[0]), np.quantile(r["draws"], q[1])
            out.append({"action": r["action"], "cause": r["cause"], "effect": r["effect"], "ci_low": float(low),
                        "ci_high": float(high), "detail": r["detail"], "factor": r["factor"]})  # fmt: skip
        frame = pd.DataFrame(out, columns=[c for c in RECOMMENDATION_COLUMNS if c != "rank"])
        frame = (
            frame[frame["effect"] > 0].sort_values("effect", ascending=False).head(5).reset_index(drop=True)
        )
        frame.insert(0, "rank", np.arange(1, len(frame) + 1))
        return frame

    def _sum_boot(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = len(values)
        return np.array([values[rng.integers(0, n, rng.poisson(n))].sum() for _ in range(self.n_boot)])


# --- the workspace ----------------------------------------------------------------------------------


def diagnosis_facts(ws, leads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(leads with created_at, p_win_at_arrival, expected_amount, contacted, wait_hours, sla_hours; won deals)."""
    from ibis import _

    con = ws.con
    acts = con.table("activities").filter(_.lead_id.notnull())
    first = acts.group_by("lead_id").agg(first_at=_["at"].min())
    base = con.table("leads").select("lead_id", "created_at")
    frame = base.left_join(first, base.lead_id == first.lead_id).drop("lead_id_right").to_pandas()
    frame = frame.merge(leads[["lead_id", "p_win_at_arrival", "expected_amount"]], on="lead_id", how="inner")
    created = pd.to_datetime(frame["created_at"])
    frame["contacted"] = frame["first_at"].notna()
    frame["wait_hours"] = (pd.to_datetime(frame["first_at"]) - created).dt.total_seconds() / 3600
    frame["sla_hours"] = ws.definitions.sla.first_contact_hours
    deals = con.table("opportunities").filter(_.is_won.fill_null(False) & _.closed_at.notnull())
    deals = deals.select("opportunity_id", "closed_at", "amount").to_pandas()
    return frame, deals


def target_bookings(ws, leads: pd.DataFrame, deals: pd.DataFrame, period: str, as_of) -> float:
    """The bookings target of the period the diagnosis explains, from `[targets] bookings` (a clear error if none)."""
    from fairshare.errors import AreaMissing

    when = (
        pd.Timestamp(as_of)
        if as_of is not None
        else max(pd.to_datetime(leads["created_at"]).max(), pd.to_datetime(deals["closed_at"]).max())
    )
    cur, _ = _period_bounds(when, period)
    targets = ws.definitions.targets.bookings
    label = str(cur)
    if label not in targets:
        raise AreaMissing(f"no bookings target for {label} in fairshare.toml: add [targets] bookings = "
                          f'{{ "{label}" = 1000000 }}')  # fmt: skip
    return float(targets[label])


def close_lag_days(ws) -> float:
    """Median days from a lead's creation to the close of the won deal it became (0 when none is linked)."""
    from ibis import _

    opps = ws.con.table("opportunities").filter(
        _.is_won.fill_null(False) & _.closed_at.notnull() & _.lead_id.notnull()
    )
    leads = ws.con.table("leads").select(lead_key="lead_id", lead_created_at="created_at")
    pairs = (
        opps.join(leads, opps.lead_id == leads.lead_key).select("closed_at", "lead_created_at").to_pandas()
    )
    if pairs.empty:
        return 0.0
    lag = (pd.to_datetime(pairs["closed_at"]) - pd.to_datetime(pairs["lead_created_at"])).dt.total_seconds()
    return max(0.0, float(np.median(lag)) / 86400)


def diagnose_workspace(ws, leads: pd.DataFrame | None = None, period: str = "quarter",
                       as_of: pd.Timestamp | None = None, random_state: int = 0, vs: str = "previous") -> Diagnosis:  # fmt: skip
    """The fitted `Diagnosis` of a workspace (lead quality from `leads`, or a fresh arrival model); with
    `vs="target"` the gap to the period's bookings target in `[targets] bookings` of fairshare.toml."""
    from fairshare.routing import replay_facts
    from fairshare.routing.replay import speed_model
    from fairshare.scoring import arrival_quality

    if leads is None or "p_win_at_arrival" not in leads:
        from fairshare.scoring import score_workspace

        _, _, scored = score_workspace(ws, horizon_days=ws.definitions.scoring.horizon_days)
        leads = scored.join(arrival_quality(ws), on="lead_id")
    facts, deals = diagnosis_facts(ws, leads)
    history, _, _ = replay_facts(ws, leads)
    coef = speed_model(history)[2] if history["resolved"].any() else 0.0
    target = target_bookings(ws, facts, deals, period, as_of) if vs == "target" else None
    model = Diagnosis(period=period, as_of=as_of, speed_coef=float(coef), lag_days=close_lag_days(ws), vs=vs,
                      target=target, random_state=random_state)  # fmt: skip
    return model.fit(facts, deals)


def results(ws, upstream: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`diagnosis` (one row: period, previous_period, primary_cause, bookings, previous_bookings),
    `diagnosis_evidence` and `diagnosis_recommendations` of a run."""
    from fairshare.errors import AreaMissing

    leads = upstream.get("leads")
    if leads is None or leads.empty:
        raise AreaMissing("no scored leads in this run: the diagnosis needs lead quality at arrival")
    model = diagnose_workspace(ws, leads)
    head = {k: v for k, v in model.result_.items() if k not in ("evidence", "recommendations")}
    return {"diagnosis": pd.DataFrame([head]), "diagnosis_evidence": model.evidence_,
            "diagnosis_recommendations": model.recommendations_}  # fmt: skip
