"""Saved alternative tariffs, on SQLite and PostgreSQL: kept by name (validated, replaced in any
case, deleted), shown by the CLI, priced nothing of the household's own, and compared with the
household's tariff by the chat's what-if tool, by hand; with nothing saved the tool says how to
add one."""

from __future__ import annotations

import json

import pytest

from energy_cli.main import main
from energy_core.chat.tools import ToolContext, run_tool
from energy_core.db import session_scope
from energy_core.stats import day_period, load_household, read_series
from energy_core.tariff_alternatives import (
    delete_alternative,
    list_alternatives,
    save_alternative,
)
from energy_core.tariffs import TariffError, set_tariff
from tests.tariffs.household import DST_DAY, NOW, TOU, seed

FLAT = {"currency": "GBP", "valid_from": "2020-01-01", "import": {"default": 0.2}}


def test_alternatives_are_kept_by_name_and_price_nothing_of_the_households(engine):
    user_id, _ = seed(engine)
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TOU)
        save_alternative(s, user_id=user_id, name="  Flat   rate ", document=FLAT)
        save_alternative(s, user_id=user_id, name="flat rate", document={**FLAT, "tax_percent": 5})
        with pytest.raises(TariffError, match="import.default: must be a number"):
            save_alternative(s, user_id=user_id, name="Broken", document={**FLAT, "import": {}})
        with pytest.raises(TariffError, match="needs a name"):
            save_alternative(s, user_id=user_id, name=" -- ", document=FLAT)
    with session_scope(engine, read_only=True) as s:
        saved = list_alternatives(s, user_id=user_id)
        assert [(a.name, a.spec["tax_percent"]) for a in saved] == [("flat rate", 5.0)]
        household = load_household(s, user_id=user_id)
        cost = read_series(s, household.select(day_period(DST_DAY, now=NOW))).total.cost_value
    assert cost == pytest.approx(4.5 * 0.10 + 16.5 * 0.30 - 2 * 0.15)  # the stored tariff's
    with session_scope(engine) as s:
        assert delete_alternative(s, user_id=user_id, name="FLAT RATE")
        assert not delete_alternative(s, user_id=user_id, name="flat rate")


def test_the_chat_compares_the_last_month_with_a_saved_tariff_by_hand(engine):
    user_id, _ = seed(engine)
    with session_scope(engine) as s:
        set_tariff(s, user_id=user_id, document=TOU)
    with session_scope(engine, read_only=True) as s:
        ctx = ToolContext.load(s, user_id=user_id, now=NOW)
        refused = run_tool(ctx, "compare_tariffs", {"months": 1})
    assert not refused.ok
    assert "no other tariff saved" in refused.error and "tariffs alternative" in refused.error
    with session_scope(engine) as s:
        save_alternative(s, user_id=user_id, name="Flat", document=FLAT)
    with session_scope(engine, read_only=True) as s:
        ctx = ToolContext.load(s, user_id=user_id, now=NOW)
        made = run_tool(ctx, "compare_tariffs", {"months": 1})
        unknown = run_tool(ctx, "compare_tariffs", {"tariff": "Agile"})
    assert made.ok, made.error
    r = made.result
    assert (r["first_day"], r["last_day"]) == ("2026-03-02", "2026-04-01")
    # All 46 1/3 kWh at 0.20 with no standing charge; the stored tariff as the bill test has it:
    # 25 kWh at the flat 0.25 before 29 March, then 29 March to 1 April with 4 standing charges
    # and 5 % tax.
    assert r["alternative"]["total"] == pytest.approx((46 + 1 / 3) * 0.2)
    assert r["yours"]["total"] == pytest.approx(25 * 0.25 + (5.10 + 0.1 + 4 * 0.6) * 1.05)
    assert r["saving"] == pytest.approx(r["yours"]["total"] - r["alternative"]["total"])
    assert not unknown.ok and "no saved tariff called 'Agile'" in unknown.error


def test_the_cli_keeps_shows_and_deletes_an_alternative(engine, tmp_path, capsys):
    _, email = seed(engine)
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(FLAT))
    argv = ["tariffs", "alternative", "--user", email, "--name", "Flat"]
    assert main([*argv, "--file", str(path)]) == 0
    assert "Alternative tariff 'Flat' kept" in capsys.readouterr().out
    assert main(["tariffs", "show", "--user", email, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["alternatives"]["Flat"]["import"]["default"] == 0.2
    assert main([*argv, "--delete"]) == 0
    assert main([*argv, "--delete"]) == 2
    assert "has no alternative tariff called 'Flat'" in capsys.readouterr().err
