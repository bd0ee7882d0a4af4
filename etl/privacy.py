"""Personal data: people become a salted hash and a masked name; phones never leave the ETL."""
from __future__ import annotations

import hashlib
import os
import secrets

import pyarrow as pa

from etl.paths import data_dir

_salt: str | None = None


def salt() -> str:
    """The installation's secret salt: $CHUANGSHU_SALT, else data/.salt (created once)."""
    global _salt
    if _salt is None:
        env = os.environ.get("CHUANGSHU_SALT")
        if env:
            _salt = env
        else:
            path = data_dir() / ".salt"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets.token_hex(16), encoding="utf-8")
                path.chmod(0o600)
            _salt = path.read_text(encoding="utf-8").strip()
    return _salt


def reset_salt_cache() -> None:
    """Forget the cached salt (tests switch installations)."""
    global _salt
    _salt = None


PERSON_ID_PARTS = ("community", "name", "phone", "building", "compound")  # what person_id is hashed from


def person_id(community: str, name: str, phone: str, building: str | None, compound: str | None) -> str:
    """Stable pseudonymous id: community + name + phone, or + building (or compound) without a phone."""
    anchor = f"tel:{phone}" if phone else f"bld:{compound or ''}/{building or ''}"
    digest = hashlib.sha256(f"{salt()}|{community}|{name}|{anchor}".encode("utf-8"))
    return "P" + digest.hexdigest()[:15]


def stable_id(prefix: str, *parts: object) -> str:
    """Short deterministic id for rows whose key is several columns (organisations, activities)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8"))
    return prefix + digest.hexdigest()[:15]


def person_ids(communities: list[str], names: list[str], phones: list[str],
               buildings: list[str | None], compounds: list[str | None]) -> list[str]:
    """person_id of every row (the same values, without a Python call per row)."""
    head, sha = f"{salt()}|", hashlib.sha256
    anchors = [f"tel:{p}" if p else f"bld:{k or ''}/{b or ''}" for p, b, k in zip(phones, buildings, compounds)]
    return ["P" + sha(f"{head}{c}|{n}|{a}".encode("utf-8")).hexdigest()[:15]
            for c, n, a in zip(communities, names, anchors)]


def stable_ids(prefix: str, columns: list[list[object]]) -> list[str]:
    """stable_id of every row of ``columns`` (the same values, without a Python call per row)."""
    return joined_ids(prefix, ["|".join(map(str, row)) for row in zip(*columns)])


def joined_ids(prefix: str, joined: list[str]) -> list[str]:
    """stable_id of rows whose parts are already joined as stable_id joins them ('|', str())."""
    sha = hashlib.sha256
    return [prefix + sha(text.encode("utf-8")).hexdigest()[:15] for text in joined]


# From this many rows on, ids are hashed by DuckDB's sha256 (the same digest of the same UTF-8
# text, tests/test_privacy.py) instead of one Python call per row: a million rows take a
# fraction of a second instead of three. Below it, Python is faster than a query.
DUCKDB_FROM = 1000


def _text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pa.array(arr).cast(pa.large_string()) if not isinstance(arr, pa.ChunkedArray) \
        else arr.combine_chunks().cast(pa.large_string())


def person_id_array(community: pa.Array, name: pa.Array, phone: pa.Array, building: pa.Array,
                    compound: pa.Array) -> pa.Array:
    """person_ids of Arrow text columns, as Arrow: what person_id gives for each row."""
    from etl.scratch import column

    table = pa.table({"c": _text(community), "n": _text(name), "p": _text(phone), "b": _text(building),
                      "k": _text(compound)})
    if table.num_rows < DUCKDB_FROM:
        values = [table.column(c).to_pylist() for c in ("c", "n", "p", "b", "k")]
        return pa.array(person_ids(*values), pa.large_string())
    # f"{x}" of None is 'None' (community and name are required, so never blank here; kept exact)
    sql = """SELECT ('P' || left(sha256($salt || '|' || coalesce(c, 'None') || '|' || coalesce(n, 'None') || '|' ||
                 CASE WHEN p IS NOT NULL AND p <> '' THEN 'tel:' || p
                      ELSE 'bld:' || coalesce(k, '') || '/' || coalesce(b, '') END), 15))::VARCHAR FROM _ids"""
    return column(sql, {"salt": salt()}, _ids=table).cast(pa.large_string())


def joined_id_array(prefix: str, joined: pa.Array | pa.ChunkedArray) -> pa.Array:
    """joined_ids of an Arrow text column (parts already joined as stable_id joins them), as Arrow."""
    from etl.scratch import column

    text = _text(joined)
    if len(text) < DUCKDB_FROM:
        return pa.array(joined_ids(prefix, text.to_pylist()), pa.large_string())
    return column("SELECT ($prefix || left(sha256(j), 15))::VARCHAR FROM _ids", {"prefix": prefix},
                  _ids=pa.table({"j": text})).cast(pa.large_string())
