"""Serving a finished run: fast inference engines and (in app.py) the HTTP server."""
