"""Teacher registry: `get_teacher(name, **cfg) -> Teacher`; backends are imported lazily.

    from mathdistill.teachers import get_teacher, TEACHERS
    teacher = get_teacher("annotated")                 # offline, deterministic
    rationales = teacher.generate(problems, "cot", n=1)

Adding a backend is one line in `_BACKENDS`: `"name": "module.path:ClassOrFactory"`.
The target is imported only when that teacher is requested, so optional dependencies
(openai, vllm, torch) are not needed to use the others.
"""

from __future__ import annotations

import importlib
import inspect

from mathdistill.teachers.base import Teacher

__all__ = ["TEACHERS", "Teacher", "TeacherConfigError", "get_teacher"]

_BACKENDS: dict[str, str] = {
    "annotated": "mathdistill.teachers.annotated:AnnotatedTeacher",
    # real backends (teachers/backend.py; options: inspect.signature of the class)
    "openai": "mathdistill.teachers.openai_backend:OpenAITeacher",
    "vllm": "mathdistill.teachers.vllm_backend:VLLMTeacher",
    "hf": "mathdistill.teachers.hf_backend:HFTeacher",
}

TEACHERS: tuple[str, ...] = tuple(_BACKENDS)


class TeacherConfigError(ValueError):
    """Unknown teacher name or options the backend does not accept."""


def get_teacher(name: str, **cfg) -> Teacher:
    """Build the teacher `name` with backend options `cfg` (e.g. model=..., base_url=...)."""
    try:
        target = _BACKENDS[name]
    except (KeyError, TypeError):
        raise TeacherConfigError(
            f"unknown teacher {name!r}; choose one of {', '.join(_BACKENDS)}"
        ) from None
    module, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module), attr)
    try:
        inspect.signature(factory).bind(**cfg)
    except TypeError as e:
        raise TeacherConfigError(f"teacher {name!r}: bad options {sorted(cfg)}: {e}") from None
    return factory(**cfg)
