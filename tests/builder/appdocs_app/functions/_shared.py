def get():
    """Not a function: a private module."""
