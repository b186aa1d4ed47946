"""Validated, database-free import items: what every importer produces."""
import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class ProblemIn:
    key: str
    text: str
    ground_truth_answer: str | None = None
    ground_truth_solution: str | None = None
    subject: str = ""
    level: int | None = None
    source_id: str = ""


@dataclass(slots=True)
class SolutionIn:
    key: str
    problem_key: str
    steps: list[str]
    final_answer: str | None = None
    answer_is_correct: bool | None = None
    generator: str = ""
    source_id: str = ""
    verifier_score: float | None = None
    generation: int | None = None
    is_quality_control: bool = False
    is_screening: bool = False
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class PassIn:
    key: str
    annotator_uuid: uuid.UUID
    problem_key: str
    solution_key: str | None
    submitted_at: datetime
    steps: list
    finish_reason: str
    total_time: int | None = None
    generation: int | None = None
    is_quality_control: bool = False
    is_screening: bool = False
    verifier_score: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class AutoLabelsIn:
    """A solution's automatic step labels from a file (Math-Shepherd): they go to the import run
    `run_key` with source `imported`, never into human passes."""

    run_key: str
    labeller_version: str
    hard: list
    soft: list | None = None
    detail: dict = field(default_factory=dict)

    @property
    def first_error(self) -> int:
        return next((i for i, v in enumerate(self.hard) if v == -1), -1)


@dataclass(slots=True)
class ImportItem:
    problem: ProblemIn
    solution: SolutionIn | None = None
    passes: list[PassIn] = field(default_factory=list)
    auto_labels: list[AutoLabelsIn] = field(default_factory=list)
