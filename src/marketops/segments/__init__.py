"""Segments: dynamic audiences declared in segments.yml, static lists, suppression segments.

`rules` is the pure evaluator (one lead at a time, given `now`); `sql` compiles the same rules to
Ibis for the batch path on DuckDB; `service` keeps stored membership current and logs every change.
"""
