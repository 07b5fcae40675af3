"""Monthly sales, in euros."""


def get() -> list[dict[str, object]]:
    return [
        {"month": "Jan", "total": 1200},
        {"month": "Feb", "total": 1900},
        {"month": "Mar", "total": 1500},
        {"month": "Apr", "total": 2300},
    ]
