"""Tariffs: a household's effective-dated tariffs (docs/tariffs.md), its bill so far, and an
editor that previews yesterday billed under a new plan against the tariff as stored. A member
edits their own household's; an admin may pick any household."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from energy_core.accounts import require_user_id
from energy_core.errors import CoreError
from energy_core.stats import load_household
from energy_core.stats.bills import PROJECTION_METHOD, billing_summary, preview_plan, what_if
from energy_core.stats.period import add_months, local_midnight
from energy_core.tariff_alternatives import (
    delete_alternative,
    list_alternatives,
    save_alternative,
)
from energy_core.tariffs import (
    import_prices,
    list_plans,
    parse_tariff_text,
    set_budget,
    set_tariff,
)
from webapp import auth
from webapp.actions import FAILED, flash, show_flash, submit
from webapp.layout import Figure, figure_row
from webapp.loaders import database_guard, load_users, now_utc, read_session
from webapp.units import format_money, format_price

PAGE = "tariffs"
EXAMPLE = {
    "currency": "GBP",
    "valid_from": "2026-01-01",
    "standing_charge_per_day": 0.60,
    "tax_percent": 5,
    "billing_day": 1,
    "import": {
        "default": 0.28,
        "periods": [{"days": "mon-fri", "from": "00:30", "to": "05:30", "price": 0.09}],
    },
    "export": {"default": 0.15},
}


def household_of(user: auth.SignedInUser) -> tuple[int, str]:
    """The household this page is about: the user's own; an admin may choose another."""
    if not user.is_admin:
        return user.id, user.email
    with database_guard():
        users = load_users(user.id)
    emails = list(users["email"])
    ids = dict(zip(users["email"], users["id"], strict=True))
    chosen = st.selectbox(
        "Household", emails, index=emails.index(user.email) if user.email in emails else 0
    )
    return int(ids[chosen]), chosen


def tiers_words(rates: dict, currency: str) -> str:
    """ "£0.10/kWh up to 10 kWh a day, then £0.30/kWh": prices as money, as the cost rule says."""
    tiers = rates.get("tiers")
    if not tiers:
        return ""
    bands = ", ".join(
        f"{format_price(b['price'], currency)} up to {b['up_to_kwh']:g} kWh" for b in tiers["bands"]
    )
    per = "a day" if tiers["per"] == "day" else "a billing period"
    return f"{bands} {per}, then {format_price(rates['default'], currency)}"


def plans_table(plans: list[dict]) -> None:
    rows = [
        {
            "Valid from": p["valid_from"],
            "Currency": p["currency"],
            "Import default": p["import"]["default"],
            "Import periods": "; ".join(
                f"{format_price(x['price'], p['currency'])} {x['days']} {x['from']}-{x['to']}"
                for x in p["import"]["periods"]
            ),
            "Import tiers": tiers_words(p["import"], p["currency"]),
            "Export default": p["export"]["default"],
            "Standing charge/day": p["standing_charge_per_day"],
            "Tax %": p["tax_percent"],
            "Billing day": p["billing_day"],
        }
        for p in reversed(plans)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def bill_section(user_id: int) -> None:
    now = now_utc()
    with database_guard(), read_session() as session:
        household = load_household(session, user_id=user_id)
        summary = billing_summary(session, household, now=now)
    cur = household.currency
    current, last = summary.current, summary.last
    st.subheader("Bill", anchor=False)
    year = summary.last_year
    figure_row(
        [
            Figure("This period so far", format_money(current.total, cur)),
            Figure(
                "Projected for the period",
                format_money(summary.projected_total, cur),
                f"Projection: {PROJECTION_METHOD}.",
            ),
            Figure("Last period", _bill_total(last, cur)),
            Figure(
                "Same days last year",
                _bill_total(year, cur),
                f"{year.first_day:%-d %b %Y} to {year.last_day:%-d %b %Y}, at the tariff valid "
                "then" + ("." if year.has_readings else "; no reading covers those days."),
            ),
        ],
        key="bill_figures",
        border=False,
    )
    st.caption(
        f"This period: {current.first_day:%-d %b} to {current.last_day:%-d %b %Y} "
        f"({current.days_so_far} of {current.days} days begun): energy "
        f"{format_money(current.energy, cur)}, standing charge "
        f"{format_money(current.standing, cur)}, tax {format_money(current.tax, cur)}. "
        f"Last period {last.first_day:%-d %b} to {last.last_day:%-d %b %Y}. "
        f"Projection: {PROJECTION_METHOD}."
    )
    budget_section(user_id, summary, cur)


def _bill_total(bill, currency: str) -> str:  # noqa: ANN001
    """A bill's total, or "No data" when no reading covers its days (never a zero)."""
    return format_money(bill.total, currency) if bill.has_readings else "No data"


def budget_section(user_id: int, summary, currency: str) -> None:  # noqa: ANN001
    if summary.budget:
        used = summary.budget_used
        st.progress(
            min(used, 1.0),
            text=f"Budget {format_money(summary.budget, currency)} per billing period: "
            f"{used:.0%} used, {summary.budget_verdict}.",
        )
    with st.form("budget", border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        amount = left.number_input(
            f"Budget per billing period ({currency}; 0: none)",
            min_value=0.0,
            max_value=1_000_000.0,
            value=float(summary.budget or 0.0),
            step=5.0,
        )
        if right.form_submit_button("Save budget"):
            saved = submit(lambda s: set_budget(s, user_id=user_id, amount=amount or None))
            if saved is not FAILED:
                flash(PAGE, "Budget saved." if saved else "Budget removed.")
                st.rerun()


def editor(user_id: int, plans: list[dict], timezone: str) -> None:
    st.subheader("Edit", anchor=False)
    today = now_utc().astimezone(ZoneInfo(timezone)).date()
    start = dict(plans[-1]) if plans else dict(EXAMPLE)
    start["valid_from"] = today.isoformat()
    text = st.text_area(
        "Tariff (JSON)",
        value=json.dumps(start, indent=2),
        height=320,
        help="The shape is in docs/tariffs.md. A plan with the valid-from date of a stored one "
        "replaces it; only the hours from that local midnight to the next plan are re-priced.",
    )
    left, middle, right = st.columns(3)
    previewed = left.button("Preview yesterday", icon=":material/preview:")
    compared = middle.button("Compare the last 3 months", icon=":material/compare_arrows:")
    saved = right.button("Save tariff", type="primary", icon=":material/save:")
    try:
        document = parse_tariff_text(text)
    except CoreError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if previewed:
        yesterday = today - timedelta(days=1)
        with database_guard(), read_session() as session:
            household = load_household(session, user_id=user_id)
            shown = preview_plan(session, household, document, day=yesterday, now=now_utc())
        cur = household.currency
        cols = st.columns(2)
        cols[0].metric(
            f"Yesterday, as stored ({yesterday:%-d %b})", format_money(shown.current.total, cur)
        )
        cols[1].metric(
            "Yesterday under the new tariff",
            format_money(shown.proposed.total, document["currency"]),
            delta=format_money(shown.change, document["currency"]),
            delta_color="inverse",
        )
        if document["valid_from"] > yesterday.isoformat():
            st.caption(
                "The new plan is valid from "
                f"{document['valid_from']}: it would not change yesterday once saved; the "
                "preview prices yesterday as if it already held."
            )
    with st.expander("Keep it as an alternative to compare with", icon=":material/bookmark:"):
        st.caption(
            "An alternative prices nothing of this household's: the chat compares it with the "
            "tariff as stored ('what would it have saved me over the last 3 months?')."
        )
        name = st.text_input("Name of the alternative", placeholder="Night saver")
        if st.button("Keep as alternative"):
            kept = submit(
                lambda s: save_alternative(s, user_id=user_id, name=name, document=document)
            )
            if kept is not FAILED:
                flash(PAGE, f"Kept the alternative tariff {kept.name}.")
                st.rerun()
    if compared:
        compare_months(user_id, document, today)
    if saved:
        stored = submit(lambda s: set_tariff(s, user_id=user_id, document=document))
        if stored is not FAILED:
            flash(PAGE, f"Saved the tariff valid from {stored['valid_from']}.")
            st.rerun()


def compare_months(user_id: int, document: dict, today) -> None:  # noqa: ANN001
    """The last 3 months billed under the stored tariff and under the edited one as if it had
    held all along."""
    first = add_months(local_midnight(today, ZoneInfo("UTC")), -3).date()
    last = today - timedelta(days=1)
    with database_guard(), read_session() as session:
        household = load_household(session, user_id=user_id)
        stored, edited = what_if(session, household, [None, document], first, last, now=now_utc())
    cur = household.currency
    saving = stored.total - edited.total
    cols = st.columns(2)
    cols[0].metric(f"{first:%-d %b} to {last:%-d %b}, as stored", format_money(stored.total, cur))
    cols[1].metric(
        "Under the edited tariff",
        format_money(edited.total, document["currency"]),
        delta=format_money(-saving, document["currency"]),
        delta_color="inverse",
    )
    st.caption(
        (
            f"The edited tariff would have saved {format_money(saving, cur)}"
            if saving >= 0
            else f"The edited tariff would have cost {format_money(-saving, cur)} more"
        )
        + " (bills with standing charge and tax; the edited tariff as if it had held all along)."
    )


def prices_section(user_id: int) -> None:
    with st.expander("Dynamic prices (CSV)"):
        st.caption(
            "Half-hourly (or any) prices: a start column (start or valid_from), an optional end "
            "column (end or valid_to) and a price per kWh (price or value_inc_vat); timestamps "
            'with an offset. Used where a plan\'s import or export says "series": true.'
        )
        direction = st.radio("For", ["import", "export"], horizontal=True)
        upload = st.file_uploader("Price file", type=["csv"])
        if upload is None or not st.button("Store prices"):
            return
        text = upload.getvalue().decode("utf-8-sig", errors="replace")
        count = submit(lambda s: import_prices(s, user_id=user_id, text=text, direction=direction))
        if count is not FAILED:
            flash(PAGE, f"Stored {count} {direction} prices.")
            st.rerun()


def delete_alternative_section(user_id: int, names: list[str]) -> None:
    """Delete one kept alternative, once its name is chosen and the deletion confirmed."""
    with st.expander("Delete an alternative", icon=":material/delete:"):
        name = st.selectbox("Alternative to delete", names, key="delete_alternative_name")
        sure = st.checkbox(
            f"Yes, delete the alternative {name}", key=f"delete_alternative_sure_{name}"
        )
        confirmed = st.button("Delete alternative", type="primary", disabled=not sure)
    if not confirmed:
        return
    deleted = submit(lambda s: delete_alternative(s, user_id=user_id, name=name))
    if deleted is not FAILED:
        gone = "Deleted the alternative tariff" if deleted else "Already deleted: the alternative"
        flash(PAGE, f"{gone} {name}.")
        st.rerun()


def main() -> None:
    user = auth.current_user()
    st.title("Tariffs", anchor=False)
    show_flash(PAGE)
    user_id, email = household_of(user)
    with database_guard(), read_session() as session:
        owner = require_user_id(session, user_id=user_id)
        timezone, legacy = owner.timezone, (owner.price_per_kwh, owner.currency)
        plans = list_plans(session, user_id=user_id)
        describe = load_household(session, user_id=user_id).tariff.describe()
        others = [a.name for a in list_alternatives(session, user_id=user_id)]
    st.caption(f"Costs of {email}: {describe}.")
    if others:
        st.caption("Alternatives kept to compare with: " + ", ".join(others) + ".")
        delete_alternative_section(user_id, others)
    if plans:
        plans_table(plans)
        st.caption(
            f"Before {plans[0]['valid_from']}: the flat {legacy[0]:g} {legacy[1]}/kWh of the "
            "Account page, export not credited."
        )
    else:
        st.info(
            f"No tariff yet: every hour costs the flat {legacy[0]:g} {legacy[1]}/kWh of the "
            "Account page. Add one below.",
            icon=":material/info:",
        )
    bill_section(user_id)
    editor(user_id, plans, timezone)
    prices_section(user_id)


main()
