"""Generated references that cannot drift from the code.

``python -m atoll.docsgen write`` regenerates them, ``python -m atoll.docsgen check`` fails
naming each stale file (the tests run it):

- ``docs/reference/http-api.md``: the control plane's OpenAPI document (``http_api``);
- ``docs/reference/cli.md``: every ``atoll`` command and option (``cli``);
- ``docs/reference/page-schema.md`` and ``docs/gallery/``: the page JSON Schema
  (``page_schema``);
- ``docs/reference/sdk.md``: mkdocstrings directives for ``import atoll`` (``sdk``);
- ``docs/reference/javascript/``: the browser runtime's JSDoc, by TypeDoc (``javascript``);
- ``docs/reference/configuration.md``: every ``ATOLL_*`` setting (``configuration``).
"""

from atoll.docsgen.references import REFERENCES, Reference, Stale, check, generate, write

__all__ = ["REFERENCES", "Reference", "Stale", "check", "generate", "write"]
