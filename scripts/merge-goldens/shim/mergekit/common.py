# Stand-in for mergekit.common: ModelReference as a named, hashable key; ImmutableMap as a dict
# with `.data`, as the methods use them.


class ModelReference:
    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, ModelReference) and other.name == self.name

    def __hash__(self):
        return hash(("ModelReference", self.name))

    def __repr__(self):
        return f"ModelReference({self.name})"


class ImmutableMap:
    def __init__(self, data=None):
        self.data = dict(data or {})

    def __getitem__(self, key):
        return self.data[key]

    def __contains__(self, key):
        return key in self.data

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    def items(self):
        return self.data.items()

    def keys(self):
        return self.data.keys()

    def values(self):
        return self.data.values()

    def get(self, key, default=None):
        return self.data.get(key, default)

    def __class_getitem__(cls, item):
        return cls
