"""What a page shows in place of its figures while the household has no device yet."""

from __future__ import annotations

import streamlit as st


def no_devices(message: str, *, link: bool = True) -> None:
    """``message`` saying there is no device yet, and (``link``) the way to the Devices page to
    register one."""
    st.info(message, icon=":material/sensors_off:")
    if link:
        st.page_link("pages/devices.py", label="Register a device", icon=":material/add:")
