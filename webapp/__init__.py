"""Streamlit-side support for the analyst app: the login wrapper and the cached data loaders.

It lives outside ``pages/`` so that Streamlit never mistakes it for a page, and outside
``energy_core`` because it imports Streamlit.
"""
