"""The counts made before Splink runs equal what Splink itself computes on the same records."""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pytest
from splink import DuckDBAPI, Linker

from marketops.identity import generator
from marketops.identity.batch import _arrow, _columns_used, splink_settings
from marketops.identity.config import IdentityConfig
from marketops.identity.estimates import linked_pairs, prior_from_rules, with_partners
from marketops.identity.features import feature_frame
from marketops.identity.model import default_model


@pytest.fixture(scope="module")
def frame():
    df = generator.frame(4000, dup_rate=0.1, seed=21)
    return feature_frame(df.to_dict("records"), "record_id")


def test_prior_equals_splinks_estimate(frame) -> None:
    cfg = IdentityConfig()
    rules = [*cfg.training.prior_rules, ["last_name", "first_initial"]]  # overlapping rules
    con = duckdb.connect()
    con.register("t", _arrow(frame, _columns_used(cfg, default_model(cfg))))
    ours = prior_from_rules(con, "t", rules, 0.7, len(frame))

    linker = Linker(
        DuckDBAPI().register(frame.drop(columns=["first_names"])),
        splink_settings(cfg, 1e-4),
        log_level=logging.ERROR,
    )
    sql = [" AND ".join(f'l."{c}" = r."{c}"' for c in rule) for rule in rules]
    linker.training.estimate_probability_two_random_records_match(sql, recall=0.7)
    splinks = linker._settings_obj._probability_two_random_records_match
    assert ours == pytest.approx(splinks, rel=1e-12)


def test_linked_pairs_and_partners_by_hand() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (0, 'a', 'x'), (1, 'a', 'x'), (2, 'a', 'y'),"
        " (3, 'b', NULL), (4, NULL, NULL), (5, 'c', 'y')) v(mo_row, p, q)"
    )
    # [p]: {0,1,2} -> 3 pairs; [q]: {0,1}, {2,5} -> 2 pairs; both: {0,1} -> 1; union 4
    assert linked_pairs(con, "t", [["p"], ["q"]]) == 4
    assert linked_pairs(con, "t", [["p", "q"]]) == 1
    rows = with_partners(con, "t", [["p"], ["q"]]).column("mo_row").to_pylist()
    assert sorted(rows) == [0, 1, 2, 5]  # 3 and 4 share no key with anyone (nulls never equal)
    assert np.array_equal(
        sorted(with_partners(con, "t", [["p", "q"]]).column("mo_row").to_pylist()), [0, 1]
    )
