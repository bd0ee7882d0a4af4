"""Blank ledger templates for the 数据上报 page: which kinds, which communities, the file (etl/template.py)."""
from __future__ import annotations

from functools import cache

from etl import catalogue
from etl.api import BY_NAME, build_template, load_reference, resolve_community, template_file_name

KINDS: dict[str, str] = dict(catalogue.LEDGER_TITLES)  # ledger kind -> 事项台账, 三长名册...
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def communities() -> list[str]:
    """The communities a template can be made for (reference order)."""
    return [row["community"] for row in load_reference().tables["communities"]]


def file_name(kind: str, community: str | None = None) -> str:
    """The template's file name (cheap: the page shows it before the file is built on the click)."""
    return template_file_name(BY_NAME[kind], resolve_community(load_reference(), community))


@cache
def template_file(kind: str, community: str | None = None) -> tuple[str, bytes]:
    """(file name, workbook bytes) of a kind's template, with the community's compounds if given."""
    ref = load_reference()
    community = resolve_community(ref, community)
    ledger = BY_NAME[kind]
    return template_file_name(ledger, community), build_template(ledger, ref, community)
