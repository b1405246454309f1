"""Tables that fit the terminal: whole columns are dropped, least important first, rather
than every cell being squeezed into `…` (unreadable at 80 columns).

    table = fitted_table("boards", [Column("name"), Column("core", priority=3)], rows, width)

A dropped column is named in the caption with where to see it (`--json`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

# Measures tables at any width (a wide virtual console: the natural width is never clipped).
_MEASURE = Console(width=10_000, file=None, force_terminal=False)


@dataclass(frozen=True)
class Column:
    """One column: lower `priority` numbers are kept longer (0 is never dropped)."""

    header: str
    priority: int = 0
    justify: str = "left"


def _table(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]], kept: list[int],
           caption: str | None = None) -> Table:
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)
    for i in kept:
        table.add_column(columns[i].header, justify=columns[i].justify, no_wrap=True)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(str(row[i]) for i in kept))
    return table


def natural_width(table: Table) -> int:
    """The width rich needs to draw `table` with no cell shortened."""
    return Measurement.get(_MEASURE, _MEASURE.options, table).maximum


def columns_that_fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Indexes of the columns to show: drop the highest priority numbers (last first) until it fits."""
    kept = list(range(len(columns)))
    droppable = sorted((i for i, c in enumerate(columns) if c.priority > 0), key=lambda i: (-columns[i].priority, -i))
    dropped: list[int] = []
    for index in droppable:
        if natural_width(_table(None, columns, rows, kept)) <= width:
            break
        kept.remove(index)
        dropped.append(index)
    for index in reversed(dropped):  # a narrow column dropped before a wide one may fit again
        candidate = sorted([*kept, index])
        if natural_width(_table(None, columns, rows, candidate)) <= width:
            kept = candidate
    return kept


def fitted_table(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int,
                 more: str = "--json") -> Table:
    """A rich Table of `rows` with the columns that fit in `width`; the caption names the rest."""
    kept = columns_that_fit(columns, rows, width)
    hidden = [columns[i].header for i in range(len(columns)) if i not in kept]
    caption = f"not shown at {width} columns: {', '.join(hidden)} (wider terminal or {more})" if hidden else None
    return _table(title, columns, rows, kept, caption)


__all__ = ["Column", "columns_that_fit", "fitted_table", "natural_width"]
