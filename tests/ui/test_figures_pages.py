"""The pages say one thing per figure (issue 14): the past does not move when a device is
registered, the headline and the table agree, a baseline without enough readings is "not
comparable", a generator shows what it generated, labels tell the truth, rooms narrow the device
picker, and every cost says how it was counted. Each runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from energy_core.db import session_scope
from energy_core.models import User
from energy_core.rollup import rollup_dirty_hours
from energy_core.stats import (
    COST_RULE,
    GLOSSARY,
    last_days_period,
    load_household,
    preset_period,
    read_series,
)
from tests.apptest import open_app, shown_text, sign_in
from tests.factories import add_readings, make_device, make_user, steady_points
from tests.ui.conftest import as_admin, as_member, metrics, show
from webapp import loaders
from webapp.loaders import minute
from webapp.units import format_energy, format_power


def deltas(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.proto.delta for metric in at.metric}


def captions(at: AppTest) -> str:
    return "\n".join(caption.value for caption in at.caption)


def comparison(at: AppTest):  # noqa: ANN201 - a DataFrame
    (table,) = [frame.value for frame in at.dataframe]
    return table.set_index(["Device", "Figure"])


def kwh(text: str) -> float:
    """ "241.81 kWh" or "271 kWh" as kWh; "850 Wh" as 0.85."""
    number, unit = text.replace(",", "").split()
    return float(number) / (1000 if unit == "Wh" else 1)


# --- the past stays put ------------------------------------------------------------------------


def test_registering_a_device_changes_no_history_figure_of_an_earlier_period(households):
    at = show(as_admin(households), "pages/history.py")
    at.selectbox(key="history_range").set_value("yesterday").run()
    before, table_before = metrics(at), comparison(at)

    with session_scope() as session:
        admin = session.get(User, households.admin_id)
        make_device(session, user=admin, device_id="garage-freezer", name="Garage freezer")
    loaders.clear_figure_caches()  # what registering on the Devices page does
    at.run()

    assert not at.exception
    assert metrics(at) == before
    assert comparison(at).equals(table_before)
    assert "Garage freezer" not in comparison(at).index.get_level_values("Device")


def test_the_headline_and_the_comparison_table_give_the_same_figures(households):
    at = show(as_admin(households), "pages/history.py")

    shown, changes = metrics(at), deltas(at)
    table = comparison(at)
    for label, figure in (("Consumption", "Consumption"), ("Generation", "Generation")):
        row = table.loc[("Household", figure)]
        headline, in_table = kwh(shown[label]), kwh(row["This period"])
        assert headline == pytest.approx(in_table, abs=0.5)  # the headline rounds to 1 kWh
        assert (changes[label] or "not comparable") == row["Change %"]
    assert shown["Cost"] == table.loc[("Household", "Cost"), "This period"]


# --- comparisons need two covered periods ------------------------------------------------------


@pytest.fixture
def second_of_the_month(app_env, engine, monkeypatch) -> datetime:
    """A heater read every five minutes since the 1st of the month, and for the last two hours
    of the same stretch of the month before; a kettle that started this month. Now: the 2nd at
    12:05 UTC."""
    now = datetime(2026, 3, 2, 12, 5, tzinfo=UTC)
    with session_scope() as session:
        user = make_user(session, email="una@example.com", timezone="UTC", currency="GBP")
        heater = make_device(session, user=user, device_id="heater", name="Heater", location="Hall")
        kettle = make_device(
            session, user=user, device_id="kettle", name="Kettle", location="Kitchen"
        )
        start = datetime(2026, 3, 1, tzinfo=UTC)
        steps = int((now - start).total_seconds() // 300)
        for device, watts in ((heater, 800.0), (kettle, 60.0)):
            points = steady_points(start, watts, count=steps)
            add_readings(session, user=user, device=device, points=points, now=now)
        late = datetime(2026, 2, 2, 10, 5, tzinfo=UTC)
        add_readings(
            session, user=user, device=heater, points=steady_points(late, 800.0, count=24), now=now
        )
    rollup_dirty_hours(engine)
    monkeypatch.setattr(loaders, "now_utc", lambda: now)
    return now


def test_this_month_on_its_second_day_is_not_comparable_and_no_data_is_no_data(
    second_of_the_month,
):
    at = sign_in(open_app(), "una@example.com")
    at = show(at, "pages/history.py", range="this_month")

    assert not at.exception
    assert at.selectbox(key="history_range").value == "this_month"
    assert deltas(at)["Consumption"] == ""  # no percentage at all
    assert "The figures are not comparable in percent" in captions(at)
    assert "readings cover only" in captions(at)
    table = comparison(at)
    assert table.loc[("Household", "Consumption"), "Change %"] == "not comparable"
    # The kettle has no readings in the month before: no data, never 0.
    kettle = table.loc[("Kettle", "Consumption")]
    assert kettle["Previous"] == "—"
    assert kettle["Change %"] == "no data"
    assert "%" not in "".join(table["Change %"])


# --- a generator is a generator ----------------------------------------------------------------


def test_a_generators_device_page_shows_what_it_generated(households):
    at = show(as_admin(households), "pages/device.py", device="solar-roof")

    # The default window, "Last 7 days": today so far and the 6 whole days before, as on History.
    period = last_days_period(7, now=minute(households.now), timezone="Europe/London")
    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=households.admin_id)
        selection = household.select(period, device_ids=["solar-roof"])
        figure = read_series(session, selection).device_total("solar-roof")
    shown = metrics(at)
    assert not at.exception
    assert shown["Generation"] == format_energy(figure.generation_wh)
    assert figure.generation_wh > 0
    assert shown["Peak generation"] == format_power(-figure.min_w)
    assert shown["Producing time"].endswith(("h", "min", "d"))
    assert "Consumption" not in shown and "Minimum" not in shown
    assert not any(value.startswith("-") for value in shown.values())
    assert any(caption.value.startswith("at ") for caption in at.caption)  # when the peak was


def test_the_grid_meters_device_page_shows_its_grid_import_and_export(households):
    """The meter draws nothing itself: its page shows the import and export it read, and their
    net, in the glossary's words, where a consumer's shows its consumption."""
    now = minute(households.now)
    with session_scope() as session:
        user = make_user(session)
        meter = make_device(
            session, user=user, device_id="mains", type="grid_meter", bidirectional=True
        )
        start = now.replace(minute=0) - timedelta(hours=3)
        points = [
            (start + timedelta(minutes=5 * i), 1200.0 if i < 18 else -600.0) for i in range(30)
        ]
        add_readings(session, user=user, device=meter, points=points)
        email, user_id = user.email, user.id
    at = show(sign_in(open_app(), email), "pages/device.py", device="mains")

    period = last_days_period(7, now=now, timezone="UTC")
    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=user_id)
        figure = read_series(session, household.select(period, device_ids=["mains"])).device_total(
            "mains"
        )
    shown = metrics(at)
    assert not at.exception
    assert figure.consumption_wh is None and figure.import_wh > 0 and figure.export_wh > 0
    assert shown["Grid import"] == format_energy(figure.import_wh) == "1.80 kWh"
    assert shown["Grid export"] == format_energy(figure.export_wh) == "650 Wh"
    assert shown["Net import"] == format_energy(figure.import_wh - figure.export_wh)
    assert "Consumption" not in shown and "Generation" not in shown
    helps = {metric.label: metric.proto.help for metric in at.metric}
    # In the unit each is shown in: "1.80 kWh" is explained "in kWh", "650 Wh" "in Wh".
    assert helps["Grid import"] == GLOSSARY["import_wh"].replace("in Wh.", "in kWh.")
    assert helps["Grid export"] == GLOSSARY["export_wh"]
    assert helps["Net import"].startswith("Grid import minus grid export, in kWh")
    assert "Grid import per hour" in [header.value for header in at.subheader]


# --- labels, filters, colours, words -----------------------------------------------------------


@pytest.mark.parametrize(("preset", "bars"), [("today", "hour"), ("last_7_days", "day")])
def test_the_granularity_label_tells_the_truth(households, preset, bars):
    at = show(as_admin(households), "pages/history.py")
    at.selectbox(key="history_range").set_value(preset).run()

    box = at.selectbox(key="history_granularity")
    assert box.value == "auto"
    assert list(box.options)[0] == "Auto"
    assert f"one bar per {bars} (chosen automatically" in captions(at)
    other = {"hour": "day", "day": "hour"}[bars]
    assert f"one bar per {other}" not in captions(at)


def test_the_words_under_a_chart_give_its_axis_unit(households):
    at = show(as_admin(households), "pages/history.py")

    titles = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        for layer in [spec, *spec.get("layer", [])]:
            y = layer.get("encoding", {}).get("y", {})
            if isinstance(y.get("title"), str) and " (" in y["title"]:
                titles[y["title"].split(" (")[0]] = y["title"].split(" (")[1].rstrip(")")
    # The glossary's words end "in W." or "in Wh."; under an axis in kW or kWh they read wrong.
    energy, power = titles["Energy"], titles["Average power"]
    assert (energy, power) == ("kWh", "kW")
    assert f"as a positive number, in {energy}." in captions(at)
    assert f"the time the readings cover, in {power}." in captions(at)


def test_rooms_narrow_the_device_picker_and_an_empty_intersection_says_so(households):
    at = show(as_member(households), "pages/history.py")

    at.multiselect(key="history_rooms").set_value(["Garage"]).run()
    assert list(at.multiselect(key="history_devices").options) == ["Mia heat pump"]

    at.multiselect(key="history_rooms").set_value([]).run()
    at.multiselect(key="history_devices").set_value(["fridge-kitchen"]).run()
    at.multiselect(key="history_rooms").set_value(["Garage"]).run()

    assert not at.exception
    notes = " ".join(info.value for info in at.info)
    assert "No device is both one of Mia cellar fridge and in Garage." in notes
    assert "never sent a reading" not in notes


# The pages that show a cost and other figures with help texts: the household's history, the live
# page, and a consumer's and a generator's device page.
FIGURE_PAGES = [
    ("pages/history.py", {}),
    ("pages/live.py", {}),
    ("pages/device.py", {"device": "heat-pump"}),
    ("pages/device.py", {"device": "solar-roof"}),
]


@pytest.mark.parametrize(("path", "query"), FIGURE_PAGES)
def test_every_cost_says_how_it_is_counted(households, path, query):
    at = show(as_admin(households), path, **query)

    assert not at.exception
    costs = [label for label in metrics(at) if label.startswith("Cost")]
    assert costs
    assert COST_RULE in captions(at)
    assert "export is not credited" in captions(at)
    # The price as the figures write money: "£0.28/kWh" beside "£64.54", not "0.28 GBP/kWh".
    assert "grid import at £" in captions(at) and "GBP" not in captions(at)


def test_figures_are_explained_in_the_glossarys_words_and_linked_to_it(households):
    at = show(as_admin(households), "pages/history.py")

    helps = {metric.label: metric.proto.help for metric in at.metric}
    unit = metrics(at)["Consumption"].split()[1]
    assert helps["Consumption"] == GLOSSARY["consumption_wh"].replace("in Wh", f"in {unit}")
    assert helps["Coverage"] == GLOSSARY["coverage"]
    assert "What these figures mean" in shown_text(at)

    glossary = at.switch_page("pages/glossary.py").run()
    assert not glossary.exception
    assert any(GLOSSARY["cost"] in text.value for text in glossary.markdown)


# The units a help text may name: those of energy and power.
UNIT_WORDS = re.compile(r"\bin (MWh|kWh|Wh|kW|W)\b")


@pytest.mark.parametrize(("path", "query"), FIGURE_PAGES)
def test_a_figures_help_names_the_unit_the_figure_is_shown_in(households, path, query):
    """The glossary says "in Wh" and "in W" (the read API's units); beside "265 kWh" or
    "1.64 kW" the help must say kWh or kW, and never speak of energy beside a power."""
    at = show(as_admin(households), path, **query)

    assert not at.exception
    checked = []
    for metric in at.metric:
        unit = metric.value.rpartition(" ")[2]
        said = set(UNIT_WORDS.findall(metric.proto.help))
        if said and unit in ("W", "kW", "Wh", "kWh", "MWh"):
            assert said == {unit}, (metric.label, metric.value, metric.proto.help)
            checked.append(unit)
    assert {"kW", "kWh"} & set(checked), checked


# --- views that can be shared ------------------------------------------------------------------


def test_history_filters_live_in_the_page_address(households):
    last = (households.now - timedelta(days=1)).date()
    first = last - timedelta(days=2)
    query = {"range": "custom", "from": first.isoformat(), "to": last.isoformat()}
    at = show(
        as_member(households), "pages/history.py", rooms="Garage", granularity="hour", **query
    )

    assert not at.exception
    assert at.selectbox(key="history_range").value == "custom"
    assert at.date_input(key="history_days").value == (first, last)
    assert at.multiselect(key="history_rooms").value == ["Garage"]
    assert at.selectbox(key="history_granularity").value == "hour"
    assert "one bar per hour (as chosen)" in captions(at)
    assert set(comparison(at).index.get_level_values("Device")) == {
        "Selected devices",
        "Mia heat pump",
    }

    # A change of filter is written back, so the address always names the view shown.
    at.selectbox(key="history_range").set_value("yesterday").run()
    at.multiselect(key="history_rooms").set_value([]).run()
    assert at.query_params.get("range") == "yesterday"
    assert "from" not in at.query_params and "rooms" not in at.query_params
    assert at.query_params.get("granularity") == "hour"


def test_the_device_page_opens_on_the_device_with_most_energy_today(households):
    with session_scope(read_only=True) as session:
        household = load_household(session, user_id=households.admin_id)
        today = read_series(
            session,
            household.select(
                preset_period("today", now=minute(households.now), timezone="Europe/London")
            ),
        )
    energies = {
        d.device_id: d.consumed_wh + d.generated_wh for d in today.device_totals() if d.has_data
    }
    biggest = max(energies, key=energies.get)

    at = show(as_admin(households), "pages/device.py")

    assert not at.exception
    assert next(box for box in at.selectbox if box.label == "Device").value == biggest
    assert at.query_params.get("device") == biggest
