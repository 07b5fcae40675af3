"""Atoll: a self-hostable serverless Replit."""

__version__ = "0.1.0"
