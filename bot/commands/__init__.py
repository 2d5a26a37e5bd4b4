"""CLI command groups; each module has `register(app)` and stays a thin layer over the services."""
