# Stand-in for mergekit.tokenizer.config: config.py only names TokenizerConfig in a type annotation.
class TokenizerConfig:
    pass
