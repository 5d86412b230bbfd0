"""Model services behind one small protocol: chat models that answer with validated structure.

Provider SDKs (openai, google-genai) are imported only when a client is built, never at start-up.
"""
