"""The peer for bench/health_score.py: pandera on polars, checking the same contract rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketops.analytics.health import patterns as rx
from marketops.analytics.health.spec import HealthSpec


def _schema(spec: HealthSpec, columns: dict[str, Any]) -> Any:
    import pandera.polars as pa
    import polars as pl

    def expr_check(name: str, make: Any) -> Any:
        return pa.Check(lambda data: data.lazyframe.select(make(pl.col(data.key))), name=name)

    cols = {}
    for f in spec.fields:
        if f.name not in columns:
            continue
        text = columns[f.name] == pl.String
        checks = []
        if text and f.max_length is not None:
            checks.append(pa.Check.str_length(max_value=f.max_length))
        if f.minimum is not None:
            checks.append(pa.Check.ge(f.minimum))
        if f.maximum is not None:
            checks.append(pa.Check.le(f.maximum))
        if f.valid_values is not None:
            checks.append(pa.Check.isin(sorted(f.valid_values)))
        if f.pattern is not None:
            pat = f.pattern.pattern
            checks.append(expr_check("pattern", lambda c, pat=pat: c.str.contains(pat)))
        if f.fmt == "email":
            checks.append(
                expr_check(
                    "email",
                    lambda c: (
                        c.str.contains(rx.EMAIL)
                        & (c.str.find("@", literal=True) <= rx.EMAIL_LOCAL_MAX)
                        & ~c.str.contains(rx.EMAIL_REJECT)
                    ),
                )
            )
        if f.fmt == "country":
            keys = sorted(rx.country_lookup())
            checks.append(expr_check("country", lambda c, k=keys: c.str.to_lowercase().is_in(k)))
        if f.fmt == "url":
            checks.append(expr_check("url", lambda c: c.str.contains(rx.URL)))
        if f.name == "phone":
            checks.append(
                expr_check(
                    "e164",
                    lambda c: c.str.contains(rx.PHONE_SHAPE),
                )
            )
        cols[f.name] = pa.Column(
            columns[f.name], checks=checks, nullable=not f.required, unique=f.unique
        )

    lookup = rx.country_lookup()
    dial = pl.LazyFrame(
        {"__key": list(lookup), "__dial": [v[1] for v in lookup.values()]},
        schema={"__key": pl.String, "__dial": pl.String},
    )

    def phone_country(data: Any) -> Any:
        lf = data.lazyframe.with_columns(__key=pl.col("country").str.to_lowercase()).join(
            dial, on="__key", how="left", maintain_order="left"
        )
        digits = pl.col("phone").str.replace_all(rx.PHONE_FORMATTING, "")
        applies = digits.str.starts_with("+") & pl.col("__dial").is_not_null()
        holds = digits.str.starts_with(pl.lit("+") + pl.col("__dial"))
        return lf.select((~applies | holds).fill_null(True))

    def stages(data: Any) -> Any:
        c = pl.col("lifecycle_stage").is_in(["MQL", "SQL", "Opportunity"])
        return data.lazyframe.select((~c | pl.col("company").is_not_null()).fill_null(True))

    def created_first(data: Any) -> Any:
        return data.lazyframe.select((pl.col("created_at") <= pl.col("updated_at")).fill_null(True))

    return pa.DataFrameSchema(
        cols,
        checks=[
            pa.Check(phone_country, name="phone_matches_country"),
            pa.Check(stages, name="pipeline_stages_have_company"),
            pa.Check(created_first, name="created_first"),
        ],
    )


def pandera_counts(path: Path, spec: HealthSpec) -> dict[str, Any]:
    """Validate lazily (every failure) and count failing rows per field and per rule."""
    import pandera
    import pandera.polars as pa
    import polars as pl

    df = pl.read_parquet(path)
    schema = _schema(spec, dict(df.schema))
    try:
        schema.validate(df, lazy=True)
        fc = None
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    invalid: dict[str, int] = {}
    rules: dict[str, int] = {}
    duplicates = 0
    if fc is not None:
        rule_names = {"phone_matches_country", "pipeline_stages_have_company", "created_first"}
        for (column, check), part in fc.group_by(["column", "check"]):
            n_rows = part["index"].n_unique()
            if check in rule_names:
                rules[check] = n_rows
            elif check == "field_uniqueness":
                duplicates = n_rows
            elif check != "not_nullable":
                invalid.setdefault(column, set()).update(part["index"].to_list())  # type: ignore[arg-type]
        invalid = {k: len(v) for k, v in invalid.items()}  # type: ignore[arg-type]
    return {
        "version": pandera.__version__,
        "invalid": invalid,
        "rules": rules,
        "duplicates": duplicates,
    }
