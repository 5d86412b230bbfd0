"""Chat sessions: a second small LangGraph graph holding one conversation thread (commands,
answers, state, tables, threads, what a new run carries from the last); docs/chat.md.
"""
