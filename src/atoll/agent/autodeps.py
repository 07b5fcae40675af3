"""Automatic dependencies: an import the checks find nothing for becomes its PyPI package
in ``[python] dependencies`` (the next checks install it), and an npm package a component
imports is listed in ``components/package.json``, within the operator's policy.

Import names that differ from their package's name come from a table (``yaml`` is PyYAML);
any other import is taken as its own package name. The standard library and the app's own
modules never get here: the checks resolved them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping

from atoll.config import AgentSettings
from atoll.errors import BadInput
from atoll.store.records import BuildError

from .checks import PACKAGE_JSON

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
    """Whether the operator's policy lets the agent add PyPI ``package`` by itself."""
    return _listed(_normal(package), policy.packages_allow, policy.packages_deny, _normal)


def npm_allowed(package: str, policy: AgentSettings) -> bool:
    """Whether the operator's policy lets the agent add npm ``package`` by itself."""
    return _listed(package.lower(), policy.npm_packages_allow, policy.npm_packages_deny, str.lower)


def _listed(
    name: str, allow: list[str] | None, deny: list[str], normal: Callable[[str], str]
) -> bool:
    if name in {normal(p) for p in deny}:
        return False
    return allow is None or name in {normal(p) for p in allow}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_npm_dependencies(
    package_json: bytes, versions: Iterable[str] | Mapping[str, str]
) -> bytes:
    """``components/package.json`` with these packages in its ``dependencies`` (a list: at
    ``*``, keeping a version already there; a mapping: at the versions given). Its other
    keys are kept."""
    try:
        data = json.loads(package_json or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{PACKAGE_JSON} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("dependencies", {}), dict):
        raise BadInput(f"{PACKAGE_JSON}: dependencies must be an object")
    deps = dict(data.get("dependencies", {}))
    if isinstance(versions, Mapping):
        deps.update(versions)
    else:
        for name in versions:
            deps.setdefault(name, "*")
    data["dependencies"] = dict(sorted(deps.items()))
    return (json.dumps(data, indent=2) + "\n").encode()
