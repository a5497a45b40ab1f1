"""One construct per architectural pattern (see each module's docstring for its default settings)."""

from .batch_pipeline import BatchPipeline
from .data_bucket import DataBucket
from .monitoring import MonitoredFunction, Monitoring
from .task_api import ApiAuth, ApiRoute, TaskApi
from .task_function import TaskFunction

__all__ = [
    "ApiAuth",
    "ApiRoute",
    "BatchPipeline",
    "DataBucket",
    "MonitoredFunction",
    "Monitoring",
    "TaskApi",
    "TaskFunction",
]
