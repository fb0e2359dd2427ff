"""energy_core: the library behind the home energy monitor.

The only package that knows tables and SQL. The ingest API, the scheduler, the Streamlit app and the
CLI are thin shells over the plain functions here.
"""

__version__ = "0.1.0"
