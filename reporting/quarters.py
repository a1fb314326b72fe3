"""Financial-year quarters: 2026-27 Q1 is April to June 2026, Q4 is January to March 2027."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_SLUG = re.compile(r"^(\d{4})-(\d{2})-q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int  # the calendar year the financial year starts in: 2026 for 2026-27
    number: int  # 1 to 4

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"quarter number {self.number} is not 1 to 4")

    @property
    def start(self) -> dt.date:
        month = 4 + (self.number - 1) * 3
        return dt.date(self.year + (month > 12), (month - 1) % 12 + 1, 1)

    @property
    def end(self) -> dt.date:
        """The last day of the quarter (inclusive)."""
        return self.next().start - dt.timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d} Q{self.number}"

    @property
    def slug(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d}-q{self.number}"

    @property
    def months(self) -> str:
        """"July to September 2026"."""
        return f"{self.start:%B} to {self.end:%B %Y}"

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def year_before(self) -> Quarter:
        return Quarter(self.year - 1, self.number)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @classmethod
    def containing(cls, day: dt.date) -> Quarter:
        year = day.year if day.month >= 4 else day.year - 1
        return cls(year, (day.month - 4) % 12 // 3 + 1)

    @classmethod
    def parse(cls, slug: str) -> Quarter:
        """"2026-27-q2" → Quarter(2026, 2). Raises ValueError for anything else."""
        match = _SLUG.match((slug or "").strip().lower())
        if not match or (int(match[1]) + 1) % 100 != int(match[2]):
            raise ValueError(f"not a quarter: {slug!r}")
        return cls(int(match[1]), int(match[3]))

    @classmethod
    def recent(cls, today: dt.date, count: int = 12) -> list[Quarter]:
        """The quarter containing today and the ones before it, newest first."""
        quarters = [cls.containing(today)]
        while len(quarters) < count:
            quarters.append(quarters[-1].previous())
        return quarters

    @classmethod
    def default(cls, today: dt.date) -> Quarter:
        """The quarter a dashboard opens on: the last one that has ended."""
        return cls.containing(today).previous()

    def __str__(self) -> str:
        return self.label
