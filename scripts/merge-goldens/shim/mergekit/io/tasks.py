# Stand-in for mergekit.io.tasks: the methods only name GatherTensors in type annotations.
class GatherTensors:
    pass
