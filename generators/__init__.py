"""Pixels: renderers behind the Generator protocol. They never call an LLM or decide repairs."""
