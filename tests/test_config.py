import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- every number finite and in its documented range; every file mistake one clear line ---------

NUMERIC_KEYS = [
    ("attribution", "lookback_days"),
    ("attribution", "half_life_days"),
    ("attribution", "bootstrap"),
    ("scoring", "horizon_days"),
    ("sla", "first_contact_hours"),
    ("sla", "mql_decision_days"),
    ("sla", "stuck_opportunity_days"),
    ("contribution", "level"),
    ("contribution", "sdr_inbound_share"),
    ("ingest", "earliest_year"),
]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[attribution]\nu_shape = [nan, 0.5, 0.5]\n", "attribution.u_shape"),
        ("[attribution]\nw_shape = [inf, 0, 0, 0]\n", "attribution.w_shape"),
        ("[attribution]\nlookback_days = 99999999999\n", "attribution.lookback_days"),
        ("[scoring]\nhorizon_days = 1e308\n", "scoring.horizon_days"),
        ("[sla]\nfirst_contact_hours = nan\n", "sla.first_contact_hours"),
        ("[contribution]\nlevel = nan\n", "contribution.level"),
        ("[funnel]\nsize_bands = [50, 99999999999999]\n", "funnel.size_bands"),
        ('[api]\ntokens = ["short"]\n', "api.tokens"),
        ("[ingest]\nearliest_year = 2050\nlatest_year = 2000\n", "ingest"),
    ],
)
def test_nan_inf_and_absurd_numbers_are_rejected_naming_the_key(text, key):
    with pytest.raises(DefinitionsError, match=rf"fairshare.toml: {key}"):
        parse_definitions(text)


def test_a_byte_order_mark_is_read_like_any_editor_does(tmp_path):
    (tmp_path / "fairshare.toml").write_bytes(b"\xef\xbb\xbf[sla]\nfirst_contact_hours = 3\n")
    assert load_definitions(tmp_path / "fairshare.toml").sla.first_contact_hours == 3


def test_file_mistakes_are_one_line_each(tmp_path):
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[workspace]\ncurrency = "€"\n'.encode("cp1252"))
    with pytest.raises(DefinitionsError, match=r"not UTF-8 \(byte 0x80 on line 2\)") as e:
        load_definitions(latin1)
    assert "\n" not in str(e.value)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(DefinitionsError, match="is a folder, not a file"):
        load_definitions(folder)


@given(
    key=st.sampled_from(NUMERIC_KEYS),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**30), max_value=10**30),
    ),
)
@settings(max_examples=100, deadline=None)
def test_any_number_is_valid_and_in_range_or_rejected_naming_its_key(key, value):
    """Hypothesis: no value gets through unless it is finite and inside the key's documented range."""
    section, name = key
    text = f"[{section}]\n{name} = {_toml_number(value)}\n"
    try:
        d = parse_definitions(text)
    except DefinitionsError as e:
        assert f"{section}.{name}" in str(e) or f"{section}:" in str(e)
        return
    got = getattr(getattr(d, section), name)
    assert math.isfinite(got)
    field = type(getattr(d, section)).model_fields[name]
    for m in field.metadata:
        for attr, ok in (("ge", got >= getattr(m, "ge", got)), ("le", got <= getattr(m, "le", got))):
            assert ok, (attr, got)
        if getattr(m, "gt", None) is not None:
            assert got > m.gt


def _toml_number(value: float | int) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)
