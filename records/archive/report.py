"""The report of ``records.archive.verify``: checks, each OK or failed, with problems naming files."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Check", "Problem", "Report"]


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Check:
    name: str
    title: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, path: str, message: str) -> None:
        problem = Problem(path, message)
        if problem not in self.problems:
            self.problems.append(problem)


@dataclass
class Report:
    path: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problems(self) -> list[Problem]:
        return [problem for check in self.checks for problem in check.problems]

    def named(self, path: str) -> bool:
        """Whether some problem names ``path``."""
        return any(problem.path == path for problem in self.problems)

    def as_dict(self) -> dict:
        return {"path": self.path, "ok": self.ok,
                "checks": [{"name": c.name, "title": c.title, "ok": c.ok, "notes": c.notes,
                            "problems": [{"path": p.path, "message": p.message} for p in c.problems]}
                           for c in self.checks]}
