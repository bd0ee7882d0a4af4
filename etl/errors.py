"""Typed problems the ETL can meet; their Chinese wording lives in etl/messages.py."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """Why one row (or one cell of it) cannot be taken; ``code`` selects the message."""

    code: str
    params: dict = field(default_factory=dict)

    def message(self) -> str:
        """The reason as a community clerk reads it."""
        from etl.messages import problem_message

        return problem_message(self)

    def fields(self) -> tuple[str, ...]:
        """Template headers of the cells this problem is about (empty for a whole sheet or file).

        Cell problems carry ``field``; a date-order problem names both dates; a duplicate key
        names the columns that make up the key (``fields``).
        """
        p = self.params
        if "fields" in p:
            return tuple(p["fields"])
        if self.code == "date_order":
            return (p["earlier"], p["later"])
        return (p["field"],) if "field" in p else ()


class LedgerError(Exception):
    """A whole file or sheet cannot be read; carries a Problem for the message."""

    def __init__(self, code: str, **params: object) -> None:
        self.problem = Problem(code, dict(params))
        super().__init__(self.problem.message())


class CellError(ValueError):
    """A single cell value cannot be understood (raised by normalisers)."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(code)


class LoadFailed(Exception):
    """A load or preview that could not finish (disk full, no permission, out of memory).

    ``str(exc)`` is the Chinese message for the office; the database was left as it was and no
    partial file remains. The OS or DuckDB error stays chained (``__cause__``) for the log.
    """
