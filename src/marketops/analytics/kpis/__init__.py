"""Funnel and revenue KPIs, written once as Ibis expressions (DuckDB by default, PostgreSQL alike)."""
