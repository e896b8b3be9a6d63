"""Identity resolution tables: identities, one link per lead, blocking keys, merges, models.

`identity_links.lead_id` is not a foreign key on purpose: a batch run over a file (or a
benchmark) links records that are not leads in this store.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, Index, Integer, String, Table

from marketops.store.schema import metadata
from marketops.store.types import UTCDateTime

TS = UTCDateTime()

identities = Table(
    "identities",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("size", Integer, nullable=False, default=1),
    Column("golden", JSON, nullable=False, default=dict),  # survivorship result + provenance
    Column("min_probability", Float),  # the weakest link holding it together (None: single)
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

identity_links = Table(
    "identity_links",
    metadata,
    Column("lead_id", String(32), primary_key=True),
    Column("identity_id", String(32), nullable=False, index=True),
    Column("method", String(32)),  # email, phone (exact rules), model, manual; None: the anchor
    Column("match_probability", Float),
    Column("match_weight", Float),
    Column("matched_to", String(32)),  # the record whose match brought this one in
    Column("features", JSON, nullable=False, default=dict),  # what real-time matching compares
    Column("linked_at", TS, nullable=False),
)

identity_keys = Table(
    "identity_keys",
    metadata,
    Column("key", String(400), primary_key=True),  # "<rule>:<value>|<value>"
    Column("lead_id", String(32), primary_key=True),
)
Index("ix_identity_keys_lead_id", identity_keys.c.lead_id)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # merge, split, resolve
    Column("at", TS, nullable=False),
    Column("actor", String(200), nullable=False),  # "realtime", "batch", a person
    Column("into_identity", String(32)),
    Column("data", JSON, nullable=False),  # moves: [{lead_id, from, to, previous link}], …
    Column("reverted_at", TS),
    Column("reverted_by", Integer),
)
Index("ix_identity_merges_into", identity_merges.c.into_identity)

identity_models = Table(
    "identity_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", TS, nullable=False),
    Column("source", String(16), nullable=False),  # splink, default
    Column("params", JSON, nullable=False),  # MatchModel.as_json()
    Column("stats", JSON, nullable=False, default=dict),
)
