# Stand-in for mergekit.architecture: the methods read a weight's name, is_embed and optional.
from pydantic import BaseModel


class WeightInfo(BaseModel):
    name: str = ""
    is_embed: bool = False
    optional: bool = False
    aliases = None
    tied_names = None
    force_dtype = None
