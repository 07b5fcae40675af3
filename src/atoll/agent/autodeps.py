"""Automatic dependencies: an import the checks find nothing for becomes its PyPI package
in ``[python] dependencies`` (the next checks install it), within the operator's policy.

Import names that differ from their package's name come from a table (``yaml`` is PyYAML);
any other import is taken as its own package name. The standard library and the app's own
modules never get here: the checks resolved them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from atoll.config import AgentSettings
from atoll.store.records import BuildError

# Import names whose package is named otherwise.
PACKAGES = {
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python-headless",
    "Crypto": "pycryptodome",
    "dateutil": "python-dateutil",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "fitz": "PyMuPDF",
    "github": "PyGithub",
    "jose": "python-jose",
    "jwt": "PyJWT",
    "magic": "python-magic",
    "markdown": "Markdown",
    "multipart": "python-multipart",
    "OpenSSL": "pyOpenSSL",
    "PIL": "pillow",
    "psycopg2": "psycopg2-binary",
    "serial": "pyserial",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "slugify": "python-slugify",
    "telegram": "python-telegram-bot",
    "yaml": "PyYAML",
}
_MISSING = re.compile(r"no module named '([A-Za-z_][A-Za-z0-9_]*)' where functions run")


def package_for(module: str) -> str:
    """The PyPI package that provides top-level module ``module``."""
    return PACKAGES.get(module, module.replace("_", "-"))


def missing_modules(errors: Iterable[BuildError]) -> list[str]:
    """The modules the checks found no provider for, in order, once each."""
    found: list[str] = []
    for error in errors:
        match = _MISSING.search(error.message)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def allowed(package: str, policy: AgentSettings) -> bool:
    """Whether the operator's policy lets the agent add ``package`` by itself."""
    name = _normal(package)
    if name in {_normal(p) for p in policy.packages_deny}:
        return False
    if policy.packages_allow is None:
        return True
    return name in {_normal(p) for p in policy.packages_allow}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
