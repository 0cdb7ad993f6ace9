"""Map the Maven Analytics "CRM + Sales + Opportunities" sample to fairshare's canonical format.

    python examples/maven/to_canonical.py [SOURCE_DIR] OUT_DIR

SOURCE_DIR defaults to ../shared/data/maven_crm_sales (read in place, never copied). The mapping is
documented in examples/maven/README.md; `fairshare import OUT_DIR` loads the result.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "maven_crm_sales"
NO_ACCOUNT = "no-account"
STAGES = {"Prospecting": "prospecting", "Engaging": "engaging", "Won": "closed_won", "Lost": "closed_lost"}
#: fairshare.toml lines that fit this data set (its opportunity stages).
DEFINITIONS = """\
[funnel]
opportunity_stages = ["prospecting", "engaging"]
won_stage = "closed_won"
lost_stage = "closed_lost"
"""


def slug(name: object) -> str | None:
    """A stable id from a display name ("Darcel Schlecht" -> "darcel-schlecht")."""
    if pd.isna(name) or not str(name).strip():
        return None
    return re.sub(r"[^a-z0-9]+", "-", str(name).strip().lower()).strip("-")


def to_canonical(source: str | Path = DEFAULT_SOURCE) -> dict[str, pd.DataFrame]:
    """The canonical tables (accounts, reps, opportunities, lifecycle, activities) of the sample."""
    source = Path(source)
    accounts = pd.read_csv(source / "accounts.csv")
    teams = pd.read_csv(source / "sales_teams.csv")
    products = pd.read_csv(source / "products.csv")
    pipeline = pd.read_csv(source / "sales_pipeline.csv")
    export_date = pd.to_datetime(pipeline["close_date"]).max()

    acc = pd.DataFrame({
        "account_id": accounts["account"].map(slug),
        "name": accounts["account"],
        "industry": accounts["sector"].replace({"technolgy": "technology"}),
        "employees": accounts["employees"].astype("Int64"),
        "annual_revenue": accounts["revenue"] * 1_000_000,
        "region": accounts["office_location"],
        "created_at": pd.to_datetime(accounts["year_established"].astype(str) + "-01-01"),
        "subsidiary_of": accounts["subsidiary_of"].map(slug),
    })  # fmt: skip
    acc = pd.concat([acc, pd.DataFrame([{"account_id": NO_ACCOUNT, "name": "(deal without an account)"}])],
                    ignore_index=True)  # fmt: skip

    agents = pd.DataFrame({
        "rep_id": teams["sales_agent"].map(slug), "name": teams["sales_agent"], "team": "AE",
        "manager_id": teams["manager"].map(slug), "region": teams["regional_office"],
    })  # fmt: skip
    managers = teams.drop_duplicates("manager")
    managers = pd.DataFrame({"rep_id": managers["manager"].map(slug), "name": managers["manager"], "team": "other",
                             "manager_id": None, "region": managers["regional_office"]})  # fmt: skip
    reps = pd.concat([agents, managers], ignore_index=True)

    price = dict(
        zip(products["product"].str.replace(" ", "", regex=False), products["sales_price"], strict=True)
    )
    stage = pipeline["deal_stage"].map(STAGES)
    won = pipeline["deal_stage"] == "Won"
    closed = pipeline["deal_stage"].isin(["Won", "Lost"])
    list_price = pipeline["product"].str.replace(" ", "", regex=False).map(price).astype(float)
    engaged = pd.to_datetime(pipeline["engage_date"])
    closed_at = pd.to_datetime(pipeline["close_date"])
    opps = pd.DataFrame({
        "opportunity_id": pipeline["opportunity_id"],
        "account_id": pipeline["account"].map(slug).fillna(NO_ACCOUNT),
        "created_at": engaged.fillna(export_date),
        "owner_rep_id": pipeline["sales_agent"].map(slug),
        "closed_at": closed_at.where(closed),
        "stage": stage,
        "amount": pipeline["close_value"].where(won, list_price).astype(float),
        "is_closed": closed,
        "is_won": won,
        "product": pipeline["product"],
        "list_price": list_price,
    })  # fmt: skip

    first = pd.DataFrame({"entity": "opportunity", "entity_id": opps["opportunity_id"], "stage": stage.where(~closed,
                          "engaging"), "at": opps["created_at"]})  # fmt: skip
    last = pd.DataFrame({"entity": "opportunity", "entity_id": opps["opportunity_id"][closed],
                         "stage": stage[closed], "at": closed_at[closed]})  # fmt: skip
    lifecycle = pd.concat([first, last], ignore_index=True).assign(reason=None)
    activities = pd.DataFrame(columns=["activity_id", "at", "rep_id", "opportunity_id", "kind"])
    return {
        "accounts": acc,
        "reps": reps,
        "opportunities": opps,
        "lifecycle": lifecycle,
        "activities": activities,
    }


def write(tables: dict[str, pd.DataFrame], out: str | Path) -> Path:
    """Write the tables as canonical CSV files into `out` (created if missing)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
    return out


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2):
        raise SystemExit(__doc__)
    source, out = (DEFAULT_SOURCE, argv[0]) if len(argv) == 1 else (argv[0], argv[1])
    folder = write(to_canonical(source), out)
    print(f"wrote {folder}; suggested fairshare.toml lines:\n{DEFINITIONS}")


if __name__ == "__main__":
    main(sys.argv[1:])
