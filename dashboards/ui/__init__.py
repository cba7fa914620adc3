"""The Streamlit layer: session state, cached data access and shared widgets."""
