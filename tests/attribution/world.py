"""A hand-made company small enough to check every journey by eye (shared by journey and sourced tests)."""

from pathlib import Path

FILES = {
    "accounts.csv": "account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n",
    "contacts.csv": "contact_id,account_id\nC1,A1\nC2,A1\nC3,A2\nC4,A3\n",
    "reps.csv": "rep_id,team\nR1,SDR\nR2,AE\n",
    "leads.csv": (
        "lead_id,created_at,contact_id,account_id,source_team\n"
        "L1,2024-01-10T00:00:00,C1,,marketing\n"
        "L2,2024-02-01T00:00:00,,A2,sdr\n"
    ),
    "opportunities.csv": (
        "opportunity_id,account_id,created_at,lead_id,closed_at,amount,is_closed,is_won,source_team\n"
        "O1,A1,2024-02-01T00:00:00,L1,2024-03-01T00:00:00,1000,true,true,marketing\n"
        "O2,A2,2024-02-15T00:00:00,L2,2024-03-15T00:00:00,500,true,false,sdr\n"
    ),
    "touches.csv": (
        "touch_id,at,contact_id,account_id,channel,campaign_id\n"
        "T1,2024-01-05T00:00:00,C1,,paid_search,\n"
        "T2,2024-01-08T00:00:00,C2,,email,\n"
        "T3,2024-01-20T00:00:00,,A1,webinar,\n"  # on the account, no contact
        "T4,2024-02-20T00:00:00,C1,,email,\n"  # after opportunity creation, before close
        "T5,2023-01-01T00:00:00,C1,,paid_search,\n"  # outside the 180-day lookback
        "T6,2024-02-10T00:00:00,C3,,paid_search,\n"
        "T7,2024-03-01T00:00:00,C4,,display,\n"
        "T8,2024-03-02T00:00:00,C4,,display,\n"
    ),
    "activities.csv": (
        "activity_id,at,rep_id,contact_id,lead_id,opportunity_id,kind\n"
        "X1,2024-01-12T00:00:00,R1,C1,,,call\n"
        "X2,2024-02-05T00:00:00,R2,,,O1,demo\n"  # after O1's creation: influences nothing
        "X3,2024-02-03T00:00:00,R1,,L2,,email\n"
    ),
}


def write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
