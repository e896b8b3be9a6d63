"""Reports: pipeline metrics, server-side SVG charts, the weekly scorecard and its scheduled job.

See docs/dashboard.md.
"""
