# Stand-in for mergekit.tokenizer: the methods only name PermutedEmbeddings in type annotations.
class PermutedEmbeddings:
    pass
