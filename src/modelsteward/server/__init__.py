"""The HTTP service: the JSON API, the dashboard pages and operations endpoints (``steward serve``).

Build the application with :func:`modelsteward.server.app.create_app`.
"""
