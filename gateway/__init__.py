"""The member-facing HTTP service (FastAPI) and its web page."""
