"""Task pipelines: one module per task, one interface (`Task.run(texts, params) -> results`)."""

from __future__ import annotations

from nlpserve.errors import UnknownTask
from nlpserve.tasks.base import Task
from nlpserve.tasks.classify import ClassifyTask
from nlpserve.tasks.embed import EmbedTask
from nlpserve.tasks.ner import NerTask, RedactTask
from nlpserve.tasks.sentiment import SentimentTask
from nlpserve.tasks.summarize import SummarizeTask

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (SentimentTask, ClassifyTask, NerTask, RedactTask, EmbedTask, SummarizeTask)
}
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
