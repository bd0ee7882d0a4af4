"""Blank ledger templates for the 数据上报 page: which kinds, which communities, the file (etl/template.py)."""
from __future__ import annotations

from functools import cache

from etl import catalogue, template
from etl.kinds import BY_NAME
from etl.reference import load_reference

KINDS: dict[str, str] = dict(catalogue.LEDGER_TITLES)  # ledger kind -> 事项台账, 三长名册...
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def communities() -> list[str]:
    """The communities a template can be made for (reference order)."""
    return [row["community"] for row in load_reference().tables["communities"]]


def file_name(kind: str, community: str | None = None) -> str:
    """The template's file name (cheap: the page shows it before the file is built on the click)."""
    return template.file_name(BY_NAME[kind], template.resolve_community(load_reference(), community))


@cache
def template_file(kind: str, community: str | None = None) -> tuple[str, bytes]:
    """(file name, workbook bytes) of a kind's template, with the community's compounds if given."""
    ref = load_reference()
    community = template.resolve_community(ref, community)
    ledger = BY_NAME[kind]
    return template.file_name(ledger, community), template.build(ledger, ref, community)
