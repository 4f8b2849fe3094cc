"""Load a planner's YAML input file into a pydantic model, every problem with its line.

Shared by the drivers file and the price catalogue: the same error form as the
inventory (``file:line: key: message``), exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from hatang.errors import HatangError
from hatang.inventory.yamlsource import Problem, Source, read

T = TypeVar("T", bound=BaseModel)


class InputModel(BaseModel):
    """A record of a planner's file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: object) -> object:
        """Keys starting with ``x-`` hold YAML anchors for reuse; they are not inputs."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        return data


class PlanInputError(HatangError):
    """A planner's input file (drivers, catalogue) is malformed."""

    exit_code = 2


def load_yaml_model(path: Path, cls: type[T], what: str) -> tuple[T, Source]:
    source = read(path)
    if isinstance(source, Problem):
        raise PlanInputError(f"{what} {source}")
    try:
        return cls.model_validate(source.data or {}), source
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = tuple(p for p in error["loc"] if isinstance(p, (str, int)))
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(str(source.problem(where, message)))
        raise PlanInputError(f"{what} {path} is not valid ({len(problems)} problem(s))", details=problems) from None


def fail(source: Source, path: tuple[str | int, ...], message: str, what: str) -> PlanInputError:
    return PlanInputError(f"{what} {source.problem(path, message)}")
