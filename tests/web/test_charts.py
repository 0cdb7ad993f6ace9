"""Charts that do not mislead: shares never stack above 100%; colour means good or bad, not up or down."""

from __future__ import annotations

import pandas as pd

from fairshare.web.charts import PALETTE, scorecard_chart, sla_chart

GREEN, RED = PALETTE[2], PALETTE[3]


def _sla(target: float | None) -> pd.DataFrame:
    frame = pd.DataFrame({
        "sla": ["first_contact", "mql_decision", *["stuck_opportunity"] * 5],
        "stage": [None, "MQL", "discovery", "demo", "proposal", "negotiation", "all"],
        "compliance": [0.14, 0.95, 1.0, 1.0, 0.9, 1.0, 0.98],
        "ci_low": [0.1, 0.9, 0.4, 0.4, 0.4, 0.4, 0.7], "ci_high": [0.18, 0.97, 1.0, 1.0, 1.0, 1.0, 1.0],
    })  # fmt: skip
    if target is not None:
        frame["target"] = target
    return frame


def test_sla_chart_gives_each_stage_its_own_bar_and_colours_by_compliance():
    sla = _sla(0.9)
    bar = sla_chart(sla).data[0]
    assert len(set(bar.x)) == len(sla)  # five stuck rows no longer share one x (stacked to 490%)
    assert max(bar.y) <= 1.0
    colours = dict(zip(bar.x, bar.marker.color, strict=True))
    assert colours["first_contact"] == RED and colours["mql_decision"] == GREEN  # 14% is not green


def test_sla_colours_follow_the_agreed_target_not_fixed_numbers():
    """Colours once came from fixed 50%/90% cut-offs; now from [sla] compliance_target as the run stored it."""
    strict = dict(zip(*(lambda b: (b.x, b.marker.color))(sla_chart(_sla(0.99)).data[0]), strict=True))
    assert strict["mql_decision"] == RED and strict["stuck_opportunity · proposal"] == RED  # 95%, 90% < 99%
    lenient = sla_chart(_sla(0.1))
    assert set(lenient.data[0].marker.color) == {GREEN}  # even 14% meets a 10% target
    assert "10% target" in lenient.layout.title.text
    unknown = sla_chart(_sla(None)).data[0]
    assert set(unknown.marker.color) == {PALETTE[8]}  # no target stored: no verdict


def test_each_sla_is_coloured_against_its_own_target():
    sla = _sla(0.9)  # compliance_target = 0.9; first_contact_target = 0.1; stuck_opportunity_target = 0.99
    sla.loc[sla["sla"] == "first_contact", "target"] = 0.1
    sla.loc[sla["sla"] == "stuck_opportunity", "target"] = 0.99
    chart = sla_chart(sla)
    colours = dict(zip(chart.data[0].x, chart.data[0].marker.color, strict=True))
    assert colours["first_contact"] == GREEN  # 14% meets its own 10%
    assert colours["mql_decision"] == GREEN  # 95% meets the shared 90%
    assert (
        colours["stuck_opportunity · proposal"] == RED and colours["stuck_opportunity · all"] == RED
    )  # < 99%
    assert "its target" in chart.layout.title.text and "target 10%" in chart.data[0].hovertext


def test_scorecard_colours_follow_each_kpis_good_direction():
    card = pd.DataFrame({
        "kpi": ["bookings", "speed_to_lead_hours", "never_contacted_share", "media_spend"],
        "label": ["Bookings", "Speed to lead", "Never contacted", "Media spend"],
        "value": [110.0, 30.0, 0.10, 500.0], "previous_value": [100.0, 20.0, 0.20, 400.0],
        "better": ["higher", "lower", "lower", "neutral"],
    })  # fmt: skip
    bar = scorecard_chart(card).data[0]
    colours = dict(zip(bar.y, bar.marker.color, strict=True))
    assert colours["Bookings"] == GREEN  # up and good
    assert colours["Speed to lead"] == RED  # up, but slower first contact is bad
    assert colours["Never contacted"] == GREEN  # down and good
    assert colours["Media spend"] == PALETTE[8]  # neither


def test_kpi_cards_colour_the_change_by_the_kpis_direction_not_its_sign():
    from jinja2 import Environment, FileSystemLoader

    import fairshare.web
    from fairshare.web.kpis import kpi_cards

    card = pd.DataFrame({
        "kpi": ["bookings", "cac", "speed_to_lead_hours", "media_spend"],
        "label": ["Bookings", "CAC", "Speed to lead", "Media spend"], "unit": ["EUR", "EUR", "hours", "EUR"],
        "value": [110.0, 900.0, 10.0, 500.0], "change": [10.0, 100.0, -5.0, 100.0],
        "better": ["higher", "lower", "lower", "neutral"],
    })  # fmt: skip
    tones = {c["label"]: c["tone"] for c in kpi_cards(card)}
    assert tones == {"Bookings": "good", "CAC": "bad", "Speed to lead": "good", "Media spend": ""}
    folder = f"{fairshare.web.__path__[0]}/templates"
    html = (
        Environment(loader=FileSystemLoader(folder)).get_template("_kpis.html").render(kpis=kpi_cards(card))
    )
    assert '<div class="change bad">+100' in html and '<div class="change good">+10' in html
