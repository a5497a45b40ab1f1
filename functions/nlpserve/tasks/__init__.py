"""Task pipelines: one module per task, one interface (`Task.run(texts, params) -> results`)."""

from __future__ import annotations

import importlib

from nlpserve import catalog
from nlpserve.errors import UnknownTask
from nlpserve.tasks.base import Task


def load_pipeline(ref: str) -> type[Task]:
    module, _, cls = ref.partition(":")
    return getattr(importlib.import_module(f"nlpserve.tasks.{module}"), cls)


#: Task name -> pipeline class, as the catalogue (``nlpserve.catalog``) lists them.
TASKS: dict[str, type[Task]] = {name: load_pipeline(ref) for name, ref in catalog.pipelines().items()}
_instances: dict[str, Task] = {}


def get_task(name: str) -> Task:
    """The process-wide pipeline for `name` (a catalogue task, or a family member such as a custom classifier
    ``classify-<model>``); its bundle loads on first use (or on `warm()`).

    Raises UnknownTask (404) for a name that is neither, and for a family member whose bundle is not in the
    models directory (the message lists the ones that are).
    """
    if name not in _instances:
        if name in TASKS:
            _instances[name] = TASKS[name]()
        else:
            family = next((f for f in catalog.FAMILIES if f.is_member(name)), None)
            if family is None:
                raise UnknownTask(
                    f"unknown task '{name}'; available tasks: {', '.join(TASKS)}", details=[{"task": name}]
                )
            present = family_members(family)
            if name not in present:
                raise UnknownTask(
                    f"no model '{name[len(family.prefix):]}' here; trained with `nlpserve train classifier` and "
                    f"deployed: {', '.join(m[len(family.prefix):] for m in present) or 'none'}",
                    details=[{"task": name, "available": present}],
                )
            _instances[name] = load_pipeline(family.pipeline)(name)  # type: ignore[call-arg]
    return _instances[name]


def family_members(family: catalog.TaskFamily) -> list[str]:
    """The members of ``family`` whose bundles are in the models directory (``classify-tickets``, ...)."""
    from nlpserve.runtime import available_bundles

    return [b for b in available_bundles() if family.is_member(b)]


__all__ = ["TASKS", "Task", "family_members", "get_task", "load_pipeline"]
