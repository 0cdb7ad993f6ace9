"""Deal notes with known themes and sentiment, and the rep traits behind them (`SimulationConfig.notes`).

Off by default (the default company stays byte-identical). When on:

- every AE gets three hidden traits besides closing skill (`rep_traits`): diligence (share of the
  follow-up cadence done), product knowledge (chance to overcome an objection) and responsiveness
  (hours from a meeting to its recap);
- every opportunity draws deal themes before its outcome (`draw_deal_themes`): objections (pricing,
  competitor, security review, integration, budget freeze, timing) cost win logit unless the owner
  overcomes them; a champion or an executive sponsor adds some. A lost deal with an objection left
  open ends after the demo (it never reaches a proposal);
- `deal_notes` writes the notes: one per theme at the stage it comes up, a resolution note when an
  objection is overcome, a recap and cadence follow-ups after every stage meeting, and a close note
  that states the outcome ("Contract signed", "Closed lost: ..."). Sentiment drifts with the outcome
  the deal is heading to, as real notes do. `truth['notes']` holds each note's theme and sentiment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fairshare.simulate.clock import timestamps
from fairshare.simulate.company import Company, _sigmoid
from fairshare.simulate.config import SimulationConfig
from fairshare.simulate.streams import Streams

OBJECTIONS = ("pricing", "competitor", "security_review", "integration", "budget_freeze", "timing")
POSITIVES = ("champion", "exec_sponsor")
DEAL_THEMES = OBJECTIONS + POSITIVES
#: chance that a deal has each theme (OBJECTIONS, then POSITIVES)
THEME_RATE = (0.3, 0.25, 0.2, 0.2, 0.12, 0.2, 0.35, 0.2)
#: win-logit effect of a positive theme
POSITIVE_EFFECT = (1.2, 1.0)
#: where a theme comes up: discovery, demo, proposal
STAGE_SHARE = (0.5, 0.3, 0.2)

PHRASES: dict[str, tuple[str, ...]] = {
    "pricing": ("Pricing: the quote is above what they expected to pay",
                "Pricing: they asked for a discount on the annual price",
                "Pricing pushback, price per seat too high compared to their current tool",
                "Pricing: procurement pushing hard on price and discount"),
    "competitor": ("Competitor in the deal: they are also evaluating a rival vendor",
                   "Competitor: comparing us against a competitor offer side by side",
                   "Competitor: incumbent vendor offered them a cheaper renewal",
                   "Competitor demoed last week, rival vendor ahead on features"),
    "security_review": ("Security review requested: sent the SOC 2 report",
                        "Security review: InfoSec questionnaire pending",
                        "Security review: their security team wants answers on data residency and encryption",
                        "Security review waiting on penetration test results"),
    "integration": ("Integration: how we sync with their Salesforce instance",
                    "Integration: need API integration with their data warehouse",
                    "Integration questions about SSO and their existing stack",
                    "Integration with the ERP is a must have for IT"),
    "budget_freeze": ("Budget freeze announced: spending on hold",
                      "Budget freeze: CFO froze discretionary budget this quarter",
                      "Budget freeze and hiring freeze across the company",
                      "Budget frozen until the board approves the new plan"),
    "timing": ("Timing: they want to revisit after the reorg",
               "Timing: project pushed to next quarter, not a priority right now",
               "Timing slipped, decision delayed until after the holidays",
               "Timing: they asked us to come back later in the year"),
    "champion": ("Champion: Head of RevOps is pushing internally",
                 "Champion is selling the project to the team",
                 "Champion set up the meeting with the other stakeholders",
                 "Champion shared the internal business case draft with us"),
    "exec_sponsor": ("Exec sponsor: VP joined the call and backs the project",
                     "Exec sponsor confirmed the business case",
                     "Exec sponsor (COO) wants this live before year end",
                     "Exec sponsor asked for the rollout plan"),
    "follow_up": ("Follow-up: sent recap and next steps after the meeting",
                  "Follow-up email with the deck and recording",
                  "Follow-up on open questions from the last meeting",
                  "Follow-up: shared two case studies as promised"),
    "closed_won": ("Closed won: contract signed", "Closed won: signed order form received",
                   "Closed won, contract countersigned"),
    "closed_lost": ("Closed lost: no decision", "Closed lost: went with another vendor",
                    "Closed lost: project cancelled"),
}  # fmt: skip
#: the note written when an objection is overcome (same theme, positive)
RESOLVED: dict[str, tuple[str, ...]] = {
    "pricing": ("Pricing resolved: agreed on a multi-year discount", "Pricing concern addressed with an ROI model"),
    "competitor": ("Competitor ruled out after the technical comparison", "Competitor dropped from the shortlist"),
    "security_review": ("Security review passed, InfoSec signed off", "Security review approved"),
    "integration": ("Integration validated in the sandbox with their IT", "Integration test passed"),
    "budget_freeze": ("Budget freeze lifted for this project", "Budget freeze: CFO approved an exception"),
    "timing": ("Timing agreed: they want to start this quarter", "Timing confirmed, kickoff scheduled"),
}  # fmt: skip
POSITIVE_MOOD = ("Great conversation.", "They sound excited.", "Very positive.", "Happy with the progress.",
                 "Good energy on the call.", "Optimistic.")  # fmt: skip
NEGATIVE_MOOD = ("Worried about this one.", "Frustrating call.", "Disappointing response.", "Bad sign.",
                 "Tense call.", "Not great.")  # fmt: skip
NOTE_TRUTH_COLUMNS = ["opportunity_id", "at", "rep_id", "theme", "kind", "sentiment", "polarity", "at_close"]


def rep_traits(cfg: SimulationConfig, company: Company, streams: Streams) -> dict[str, np.ndarray]:
    """Diligence, product knowledge and responsiveness per rep (standard normal x trait_sd; hidden)."""
    rng = streams.generator("rep_traits")
    n = company.n_sdr + company.n_ae
    sd = cfg.notes.trait_sd
    return {name: rng.normal(0, sd, n) for name in ("diligence", "product_knowledge", "responsiveness")}


@dataclass
class DealThemes:
    """Per lead (opportunity): which themes the deal has, which objections get overcome, the win-logit shift."""

    present: np.ndarray  # (leads, DEAL_THEMES) bool
    stage: np.ndarray  # (leads, DEAL_THEMES) stage index (0..2) where the theme comes up
    overcome: np.ndarray  # (leads, OBJECTIONS) bool
    shift: np.ndarray  # win-logit shift
    stalls: np.ndarray  # bool: an objection left open (a lost deal ends after the demo)


def draw_deal_themes(cfg: SimulationConfig, company: Company, streams: Streams, key: tuple, rep: np.ndarray) -> DealThemes:  # fmt: skip
    """The deal's themes, drawn before its outcome; `rep` is the owning AE (rep index) of each lead."""
    k = len(DEAL_THEMES)
    u = np.stack([streams.uniform("note_theme", *key, slot=j) for j in range(k)], axis=1)
    present = u < np.asarray(THEME_RATE)[None, :]
    cum = np.cumsum(STAGE_SHARE)[:-1]
    stage = np.stack(
        [np.searchsorted(cum, streams.uniform("note_stage", *key, slot=j)) for j in range(k)], axis=1
    )
    knowledge = rep_traits(cfg, company, streams)["product_knowledge"][rep]
    p_over = _sigmoid(cfg.notes.overcome_intercept + cfg.notes.overcome_knowledge * knowledge)
    n_obj = len(OBJECTIONS)
    u_over = np.stack([streams.uniform("note_overcome", *key, slot=j) for j in range(n_obj)], axis=1)
    overcome = present[:, :n_obj] & (u_over < p_over[:, None])
    left_open = present[:, :n_obj] & ~overcome
    shift = -cfg.notes.objection_effect * left_open.sum(axis=1) + present[:, n_obj:] @ np.asarray(
        POSITIVE_EFFECT
    )
    # centred: the average deal keeps the default win rate (an average rep, p_over at knowledge 0)
    p0 = _sigmoid(cfg.notes.overcome_intercept)
    mean = -cfg.notes.objection_effect * sum(THEME_RATE[:n_obj]) * (1 - p0) + float(
        np.dot(THEME_RATE[n_obj:], POSITIVE_EFFECT)
    )
    return DealThemes(present, stage.astype(np.int64), overcome, shift - mean, left_open.any(axis=1))


def _text(streams: Streams, key: tuple, slot: int, theme: str, pool: dict, mood: np.ndarray,
          rows: np.ndarray) -> np.ndarray:  # fmt: skip
    """One phrase of `theme` per row (keyed dice), with a mood sentence where |mood| > 0.7."""
    phrases = np.asarray(pool[theme], dtype=object)
    pick = (streams.uniform("note_phrase", *key, slot=slot)[rows] * phrases.size).astype(np.int64)
    m = (streams.uniform("note_mood", *key, slot=slot)[rows] * len(POSITIVE_MOOD)).astype(np.int64)
    tail = np.where(mood > 0.7, np.asarray(POSITIVE_MOOD, dtype=object)[m],
                    np.where(mood < -0.7, np.asarray(NEGATIVE_MOOD, dtype=object)[m], ""))  # fmt: skip
    return np.asarray([f"{p}. {t}".strip() if t else str(p) for p, t in zip(phrases[pick], tail, strict=True)],
                      dtype=object)  # fmt: skip


def deal_notes(cfg: SimulationConfig, company: Company, streams: Streams, key: tuple, deal: DealThemes,
               sales: dict, add) -> dict[str, np.ndarray]:  # fmt: skip
    """Write the notes of every opportunity through `add` (the activity writer); return their truth rows.

    `sales` holds per lead: opp (bool), disc, enter (leads x 5), won, owner, contact, account, horizon.
    Every note is written strictly before the close except the close note, written at the close.
    """
    enter, disc, won, owner = sales["enter"], sales["disc"], sales["won"], sales["owner"]
    close = enter[:, 4]
    end = np.where(np.isnan(close), sales["horizon"], close)  # notes before the close (or the horizon)
    start = disc
    span = np.maximum(end - start, 1e-3)
    heading = np.where(won, 1.0, -1.0)
    traits = rep_traits(cfg, company, streams)
    rep = np.maximum(owner, 0)
    stage_t = np.stack([disc, enter[:, 1], enter[:, 2], enter[:, 3]], axis=1)
    next_t = np.concatenate([stage_t[:, 1:], end[:, None]], axis=1)
    next_t = np.where(np.isnan(next_t), end[:, None], next_t)
    base = sales["opp"] & ~np.isnan(disc)
    truth: dict[str, list] = {"lead": [], "time": [], "theme": [], "kind": [], "polarity": [], "at_close": []}
    slot = [0]

    def write(rows: np.ndarray, t: np.ndarray, theme: str, kind: str, polarity: float, pool=PHRASES,
              at_close: bool = False) -> None:  # fmt: skip
        ok = ~np.isnan(t) & (t <= sales["horizon"]) & ((t < end[rows]) | at_close)
        rows, t = rows[ok], t[ok]
        slot[0] += 1
        noise = streams.normal("note_sentiment", *key, slot=slot[0])[rows]
        progress = np.clip(
            (t - start[rows]) / span[rows], 0, 1
        )  # a rep senses the outcome early, more so later
        drift = heading[rows] * cfg.notes.sentiment_drift * (0.3 + 0.7 * progress)
        mood = polarity + drift + 0.5 * noise if not at_close else np.full(rows.size, polarity)
        text = _text(streams, key, slot[0], theme, pool, mood, rows)
        add(time=t, rep=owner[rows], contact=sales["contact"][rows], account=sales["account"][rows], opp=rows,
            lead=rows, kind=np.full(rows.size, kind, dtype=object), direction="outbound",
            outcome="closed" if at_close else "logged", duration=0.0, notes=text)  # fmt: skip
        for name, val in (("lead", rows), ("time", t), ("theme", np.full(rows.size, theme, dtype=object)),
                          ("kind", np.full(rows.size, kind, dtype=object)), ("polarity", mood),
                          ("at_close", np.full(rows.size, at_close))):  # fmt: skip
            truth[name].append(val)

    resp = traits["responsiveness"][rep]
    dil = _sigmoid(cfg.notes.cadence_intercept + cfg.notes.cadence_diligence * traits["diligence"][rep])
    for s in range(4):  # recap (always; its delay is responsiveness) and cadence steps (diligence)
        rows = np.flatnonzero(base & ~np.isnan(stage_t[:, s]))
        recap_days = cfg.notes.recap_hours / 24 * np.exp(-cfg.notes.recap_responsiveness * resp[rows])
        t = stage_t[rows, s] + recap_days * (0.5 + streams.uniform("note_recap", *key, slot=s)[rows])
        write(rows, t, "follow_up", "email", 0.0)
        for c in range(cfg.notes.cadence_steps):
            u = streams.uniform("note_cadence", *key, slot=10 * s + c)[rows]
            done = rows[u < dil[rows]]
            step = 2.0 + 3.0 * c + streams.uniform("note_cadence_t", *key, slot=10 * s + c)[done]
            t = np.minimum(stage_t[done, s] + step, next_t[done, s] - 0.05)
            write(done, np.where(t > stage_t[done, s], t, np.nan), "follow_up", "email", 0.0)
    for j, theme in enumerate(DEAL_THEMES):
        s = deal.stage[:, j]
        rows = np.flatnonzero(base & deal.present[:, j])
        rows = rows[~np.isnan(stage_t[rows, s[rows]])]
        t = stage_t[rows, s[rows]] + 0.02 + 0.01 * j
        write(rows, t, theme, "call", -0.5 if theme in OBJECTIONS else 0.7)
        if theme in OBJECTIONS:  # overcome: a resolution note at the next stage
            done = rows[deal.overcome[rows, j]]
            t = next_t[done, s[done]] - 0.3
            write(done, np.where(t > stage_t[done, s[done]] + 0.05, t, np.nan), theme, "call", 0.7, RESOLVED)
    closed = np.flatnonzero(base & ~np.isnan(close))
    for outcome, flag in (("closed_won", True), ("closed_lost", False)):
        rows = closed[won[closed] == flag]
        write(rows, close[rows], outcome, "other", 0.8 if flag else -0.8, at_close=True)
    out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in truth.items()}
    return out


def notes_truth(cfg: SimulationConfig, company: Company, sales_notes: dict, ids: dict) -> dict[str, pd.DataFrame]:  # fmt: skip
    """`truth['notes']` (one row per note) and `truth['rep_traits']` (AEs' hidden traits).

    `ids`: opportunity ids per lead (`opp`), rep ids (`rep`); `sales_notes`: `Sales.notes`.
    """

    notes, traits = sales_notes["rows"], sales_notes["traits"]
    lead = notes["lead"].astype(np.int64)
    mood = notes["polarity"].astype(float)
    frame = pd.DataFrame({
        "opportunity_id": ids["opp"][lead], "at": timestamps(cfg.start, notes["time"]),
        "rep_id": ids["rep"][ids["owner"][lead]], "theme": notes["theme"], "kind": notes["kind"],
        "sentiment": np.where(mood > 0.5, "positive", np.where(mood < -0.5, "negative", "neutral")),
        "polarity": np.round(mood, 4), "at_close": notes["at_close"].astype(bool),
    })  # fmt: skip
    frame = frame.sort_values(["opportunity_id", "at", "theme"], kind="stable").reset_index(drop=True)
    ae = slice(company.n_sdr, None)
    reps = pd.DataFrame({
        "rep_id": ids["rep"][ae], "closing_skill": company.rep_skill[ae],
        **{name: values[ae] for name, values in traits.items()},
    })  # fmt: skip
    return {"notes": frame[NOTE_TRUTH_COLUMNS], "rep_traits": reps}
