"""Task pipelines: one module per task, one interface (`Task.run(texts, params) -> results`)."""

from __future__ import annotations

import importlib

from nlpserve import catalog
from nlpserve.errors import UnknownTask
from nlpserve.tasks.base import Task


def _load(ref: str) -> type[Task]:
    module, _, cls = ref.partition(":")
    return getattr(importlib.import_module(f"nlpserve.tasks.{module}"), cls)


#: Task name -> pipeline class, as the catalogue (``nlpserve.catalog``) lists them.
TASKS: dict[str, type[Task]] = {name: _load(ref) for name, ref in catalog.pipelines().items()}
_instances: dict[str, Task] = {}


def get_task(name: str) -> Task:
    """The process-wide pipeline for `name`; its bundle loads on first use (or on `warm()`)."""
    if name not in TASKS:
        raise UnknownTask(
            f"unknown task '{name}'; available tasks: {', '.join(TASKS)}", details=[{"task": name}]
        )
    if name not in _instances:
        _instances[name] = TASKS[name]()
    return _instances[name]


__all__ = ["TASKS", "Task", "get_task"]
