"""The AI agent that builds and changes apps through tools (issue 12).

- ``provider``: the model, any OpenAI-compatible chat-completions server;
- ``draft``: a turn's edits to the workspace, committed as one revision, and what the
  agent has read;
- ``tools`` and ``file_tools``: what the model may call, and how a call's failure comes
  back to it.
"""
