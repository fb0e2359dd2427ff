"""How the pages about the household's devices open: who is signed in, their timezone, this
minute and the devices, or a notice in place of the page while there is no device yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from webapp import auth, loaders
from webapp.notices import no_devices


@dataclass(frozen=True)
class DevicePage:
    user: auth.SignedInUser
    tz: ZoneInfo
    now: datetime
    devices: pd.DataFrame


def open_device_page(title: str, *, no_devices_message: str) -> DevicePage | None:
    """The page titled ``title`` at this minute of the app's clock; None, after showing
    ``no_devices_message``, while the household has no device."""
    user = auth.current_user()
    now = loaders.minute(loaders.now_utc())
    st.title(title, anchor=False)
    with loaders.database_guard():
        devices = loaders.load_devices(user.id)
    if devices.empty:
        no_devices(no_devices_message)
        return None
    return DevicePage(user=user, tz=ZoneInfo(user.timezone), now=now, devices=devices)
