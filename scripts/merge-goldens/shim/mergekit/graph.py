# Stand-in for mergekit.graph: a Task is a record whose execute() the generator calls directly.
from pydantic import BaseModel


class Task(BaseModel):
    pass
