"""The analyst app (Streamlit): the frame ``streamlit_app.py``, its pages in ``pages/`` and what
they share, the login wrapper and the cached data loaders. It ships with its Streamlit settings
(``.streamlit/config.toml``) and lives outside ``energy_core`` because it imports Streamlit.
"""
