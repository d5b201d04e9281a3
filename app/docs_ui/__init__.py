"""The interactive API docs (/docs: Swagger UI, /redoc: ReDoc), served with no network.

Both UIs are committed files from their npm packages (vendor/, written by
scripts/refresh_docs_ui.py), served under versioned paths; nothing comes from a CDN.
"""
