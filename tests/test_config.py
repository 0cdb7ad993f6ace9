import pytest

from fairshare.config import DEFAULT_TOML, Definitions, DefinitionsError, load_definitions, parse_definitions


def test_default_file_equals_built_in_defaults():
    assert parse_definitions(DEFAULT_TOML) == Definitions()


def test_typo_gets_a_did_you_mean():
    with pytest.raises(
        DefinitionsError,
        match=r"unknown key 'lookbak_days' in \[attribution\] — did you mean 'lookback_days'\?",
    ):
        parse_definitions("[attribution]\nlookbak_days = 30\n")


def test_unknown_section_is_named():
    with pytest.raises(DefinitionsError, match=r"unknown key 'chanels'.*did you mean 'channels'"):
        parse_definitions("[chanels]\n")


def test_bad_values_are_explained():
    with pytest.raises(DefinitionsError, match=r"attribution.u_shape: .*sum to 1"):
        parse_definitions("[attribution]\nu_shape = [0.5, 0.5, 0.5]\n")
    with pytest.raises(DefinitionsError, match=r"sla.first_contact_hours"):
        parse_definitions("[sla]\nfirst_contact_hours = -1\n")
    with pytest.raises(DefinitionsError, match="not valid TOML"):
        parse_definitions("[sla\n")


def test_mql_stage_must_be_a_lead_stage():
    with pytest.raises(DefinitionsError, match="mql_stage 'MQL' is not one of lead_stages"):
        parse_definitions('[funnel]\nlead_stages = ["lead", "SQL"]\n')


def test_channel_map_and_missing_file(tmp_path):
    d = parse_definitions('[channels.map]\n"google / cpc" = "paid_search"\n')
    assert d.channels.canonical("google / cpc") == "paid_search"
    assert d.channels.canonical("webinar") == "webinar"
    assert load_definitions(tmp_path / "absent.toml") == Definitions()


def test_the_removed_mql_engagement_rule_is_refused_not_silently_ignored():
    # [mql] mode = "engagement" was never applied; the MQL is the lifecycle table's mql_stage (docs/decisions.md)
    with pytest.raises(DefinitionsError, match=r"\[mql\] mode = 'engagement' is not supported.*mql_stage"):
        parse_definitions('[mql]\nmode = "engagement"\n')
    assert "[mql]" not in DEFAULT_TOML
    # files written before the section went still load: their [mql] asked for what applies
    assert parse_definitions('[mql]\nmode = "lifecycle"\nmin_touches = 3\n') == Definitions()
