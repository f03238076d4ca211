# Stand-in for pydantic (merge goldens only; Debian has no pydantic 2): mergekit's method modules
# use BaseModel as a keyword-argument record, Field/model_validator as decorations, and
# create_model only inside easy_define (replaced by shim/easy_define.py). Nothing is validated.


class BaseModel:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__()

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            object.__setattr__(self, key, value)

    def __class_getitem__(cls, item):
        return cls


def Field(*args, **kwargs):
    return kwargs.get("default")


def model_validator(*args, **kwargs):
    return lambda f: f


def create_model(*args, **kwargs):
    raise RuntimeError("create_model is not available in the golden shim")
