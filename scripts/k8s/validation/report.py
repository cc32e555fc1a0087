"""Counts results and prints one line per result."""

from __future__ import annotations


class Report:
    """Counts and prints results, one line each."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.skipped_kinds: dict[str, int] = {}

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"ok    {what}")

    def fail(self, what: str, why: str | list[str]) -> None:
        self.failed += 1
        reasons = why if isinstance(why, list) else [why]
        print(f"FAIL  {what}")
        for reason in reasons:
            print(f"        {reason}")

    def skip(self, what: str, why: str) -> None:
        self.skipped += 1
        print(f"skip  {what}: {why}")

    def check(self, what: str, problems: list[str]) -> None:
        if problems:
            self.fail(what, problems)
        else:
            self.ok(what)
