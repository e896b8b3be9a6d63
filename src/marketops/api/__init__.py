"""HTTP API (FastAPI). Routers live in `api.routers`; each module exposing `router` is mounted."""
