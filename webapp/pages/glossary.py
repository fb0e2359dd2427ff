"""What the figures mean: the glossary every caption, CSV column and API field quotes
(docs/metrics.md has the same definitions with the reasons behind them)."""

from __future__ import annotations

import streamlit as st

from energy_core.settings import get_settings
from energy_core.stats import COST_RULE, GLOSSARY
from webapp import auth

auth.current_user()
st.title("What the figures mean", anchor=False)
st.caption(
    "Every figure on these pages, in their CSV downloads, from the read API and in chat answers "
    "is one of these metrics, computed once by the read layer. The source's docs/metrics.md "
    "says the same with the reasons behind each rule."
)
threshold = get_settings().comparable_coverage
st.markdown(
    f"""
**Cost.** {COST_RULE} Export is not credited while no export price is set. A household's
tariff (Tariffs page) sets the prices: see docs/tariffs.md.

**Comparisons.** A change in percent is shown only where both periods are covered at least
{threshold:.0%} (`ENERGY_COMPARABLE_COVERAGE`); otherwise the page says the periods are not
comparable, and why.

**No data** is "—" on a page and an empty cell in a CSV, never 0. **A device counts from its
first reading on**: registering a device never changes a figure of an earlier period.
"""
)
st.subheader("Every metric", anchor=False)
st.markdown(
    "\n".join(f"- `{name}` — {meaning}" for name, meaning in GLOSSARY.items()),
    help="The names are the CSV columns and the read API's fields.",
)
