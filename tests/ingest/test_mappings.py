"""CRM export mappings land Salesforce/HubSpot exports as canonical tables."""

import pytest

from fairshare import Workspace
from fairshare.ingest import ImportFailed
from fairshare.ingest.mappings import MappingError, load_mapping


def salesforce_export(folder):
    folder.mkdir()
    (folder / "Account.csv").write_text(
        "Id,Name,Industry,NumberOfEmployees,AnnualRevenue,BillingCountry,CreatedDate,Rating\n"
        "0011,Acme,Technology,120,5000000,US,2026-01-02T10:00:00.000+0000,Hot\n"
        "0012,Globex,Manufacturing,900,,DE,2026-01-03T10:00:00.000+0000,Cold\n"
    )
    (folder / "Contact.csv").write_text("Id,AccountId,Title,CreatedDate\n0031,0011,CMO,2026-01-04\n")
    (folder / "User.csv").write_text("Id,Name,Department,ManagerId,Country,CreatedDate\n0051,Ann,Sales Development,,US,2025-01-01\n"
                                     "0052,Bo,Account Executive,,US,2025-01-01\n")  # fmt: skip
    (folder / "Campaign.csv").write_text(
        "Id,Name,Type,StartDate,EndDate,BudgetedCost\n7011,Spring,Webinar,2026-01-01,2026-02-01,5000\n"
    )
    (folder / "CampaignMember.csv").write_text(
        "Id,CampaignId,ContactId,Status,CreatedDate\n00v1,7011,0031,Attended,2026-01-10\n"
    )
    (folder / "Opportunity.csv").write_text(
        "Id,AccountId,CreatedDate,OwnerId,CloseDate,StageName,Amount,IsClosed,IsWon,LeadSource\n"
        "0061,0011,2026-01-15,0052,2026-02-20,Closed Won,25000,true,true,Webinar\n"
    )
    (folder / "Task.csv").write_text(
        "Id,CreatedDate,OwnerId,WhoId,WhatId,TaskSubtype,CallDurationInSeconds,CallType,CallDisposition,Description\n"
        "00T1,2026-01-11,0051,0031,,Call,300,Outbound,Connected,intro call\n"
        "00T2,2026-01-20,0052,,0061,Email,,,,proposal sent\n"
    )
    return folder


def test_salesforce_export_imports_as_canonical(tmp_path):
    folder = salesforce_export(tmp_path / "sf")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.import_(folder, mapping="salesforce")
        status = ws.status()["tables"]
        assert (status["accounts"], status["touches"], status["activities"], status["reps"]) == (2, 1, 2, 2)
        reps = ws.table("reps").execute().set_index("rep_id")
        assert list(reps.loc[["0051", "0052"], "team"]) == ["SDR", "AE"]
        touch = ws.table("touches").execute().iloc[0]
        assert (touch["channel"], touch["kind"]) == (
            "webinar",
            "event",
        )  # channel looked up from the campaign
        acts = ws.table("activities").execute().set_index("activity_id")
        assert acts.loc["00T1", "contact_id"] == "0031" and acts.loc["00T2", "opportunity_id"] == "0061"
        opp = ws.table("opportunities").execute().iloc[0]
        assert opp["source_team"] == "marketing" and bool(opp["is_won"]) and opp["amount"] == 25000


def test_problems_name_the_export_file(tmp_path):
    folder = salesforce_export(tmp_path / "sf")
    (folder / "Opportunity.csv").write_text(
        (folder / "Opportunity.csv").read_text().replace(",25000,", ",25k,")
    )
    with Workspace.init(tmp_path / "ws") as ws, pytest.raises(ImportFailed) as err:
        ws.import_(folder, mapping="salesforce")
    assert "Opportunity.csv (as opportunities.csv):2: amount: not a number: '25k'" in [
        str(p) for p in err.value.report.problems
    ]


def test_unknown_mapping_and_bad_columns(tmp_path):
    with pytest.raises(MappingError, match="built-in mappings: hubspot, salesforce"):
        load_mapping("zoho")
    bad = tmp_path / "m.toml"
    bad.write_text(
        'name = "x"\n[tables.accounts]\nfile = "a"\n[tables.accounts.columns]\naccount_idd = "Id"\n'
    )
    with pytest.raises(MappingError, match="no canonical column"):
        load_mapping(bad)
    assert load_mapping("hubspot").tables["opportunities"].file == "deals"
