"""Returns its query parameter: the page shows data reloading as state changes."""


def get(q: str = "") -> dict[str, str]:
    return {"q": q}
