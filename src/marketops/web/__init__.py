"""The web dashboard: sign-in (auth), page views over the services (pages), templates, static files.

Routes live in `marketops.api.routers.web`; see docs/dashboard.md.
"""
