"""Always fails: the page shows an error state for data loaded from it."""


def get() -> dict:
    raise RuntimeError("broken on purpose")
