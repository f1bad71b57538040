from datetime import UTC, datetime

import polars as pl
import pytest

from dashboard.filters import Filters, apply_filters, filter_options
from dashboard.settings import load_settings
from dashboard.views.kpi import Kpi, format_duration


def test_no_khoros_url_means_the_simulator_and_secrets_never_show_in_repr():
    s = load_settings(env={"KHOROS_PASSWORD": "hunter2", "KHOROS_USERNAME": "u"})
    assert s.use_simulator
    assert "hunter2" not in repr(s)
    t = load_settings(env={"KHOROS_ANALYTICS_URL": "https://analytics-api.app.lithium.com/api/public",
                           "KHOROS_COMPANY_KEY": "acme", "KHOROS_PASSWORD": "hunter2"})
    assert not t.use_simulator
    assert t.tenant == "acme@analytics-api.app.lithium.com"
    assert t.missing_for_tenant() == ["KHOROS_USERNAME"]


def test_secrets_override_environment_and_bad_values_say_which_setting():
    s = load_settings({"CARE_DASHBOARD_TIMEZONE": "Europe/Berlin"}, env={"CARE_DASHBOARD_TIMEZONE": "UTC"})
    assert s.timezone == "Europe/Berlin"
    with pytest.raises(ValueError, match="KHOROS_RATE_ANALYTICS_PER_MIN must be an integer"):
        load_settings(env={"KHOROS_RATE_ANALYTICS_PER_MIN": "lots"})
    with pytest.raises(ValueError, match="CARE_DASHBOARD_SIMULATOR_END must be an ISO-8601"):
        load_settings(env={"CARE_DASHBOARD_SIMULATOR_END": "tomorrow"})
    end = load_settings(env={"CARE_DASHBOARD_SIMULATOR_END": "2026-11-18T10:30:00"}).simulator_end
    assert end == datetime(2026, 11, 18, 10, 30, tzinfo=UTC)


def test_filters_keep_chosen_values_and_cast_url_strings():
    facts = pl.DataFrame({"tier": ["Gold", "Platinum", None], "priority": [1, 5, 5]})
    out = apply_filters(facts, {"tier": ["Gold", "Platinum"], "priority": ["5"], "channel": []})
    assert out["tier"].to_list() == ["Platinum"]
    assert filter_options(facts) == {"tier": ["Gold", "Platinum"], "priority": [1, 5]}
    with pytest.raises(KeyError, match="unknown filter 'colour'"):
        apply_filters(facts, {"colour": ["red"]})


def test_kpi_formats_values_and_deltas_in_their_units():
    assert format_duration(59) == "59s"
    assert format_duration(3 * 3600 + 5 * 60) == "3h 05m"
    assert format_duration(None) == "—"
    assert Kpi("a", "Attainment", 0.9, "ratio", "d", previous=0.85).delta == "+5.0 pp"
    assert Kpi("c", "Conversations", 120, "count", "d", previous=100).delta == "+20 (+20%)"
    assert Kpi("f", "FRT", 600, "seconds", "d", previous=900).delta == "-5m"
    assert Kpi("f", "FRT", None, "seconds", "d", previous=900).delta is None


def test_filters_window_previous_window_and_description():
    now = datetime(2026, 11, 18, 3, 30, tzinfo=UTC)  # still 17 Nov in New York
    filters = Filters.last_days(now, "America/New_York", 7, dimensions={"tier": ("Gold",), "queue": ()})
    assert (filters.start.isoformat(), filters.end.isoformat(), filters.days) == ("2026-11-11", "2026-11-18", 7)
    assert [d.isoformat() for d in filters.previous_window()] == ["2026-11-04", "2026-11-11"]
    assert filters.describe() == "11 Nov 2026 – 17 Nov 2026 (America/New_York) · Customer tier: Gold"
    assert filters.as_of == now and filters.bot_rule == "human"
