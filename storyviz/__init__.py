"""storyviz: a story in plain language in, a consistent comic and its audit report out."""

__version__ = "0.1.0"
