"""Data health: the lead data scored against the contract on five dimensions, as Ibis expressions.

`spec` compiles the contract into checks, `checks` turns them into one aggregate expression, `score`
turns the counts into a report, `sources` puts the store or a file into an engine, `runs` stores each
run (the trend) and raises alerts through the outbox, `service` ties them together for the CLI/API.
"""

DIMENSIONS = ("completeness", "validity", "timeliness", "uniqueness", "consistency")
