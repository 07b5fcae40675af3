"""YAML in, JSON out."""

import yaml
from pydantic import BaseModel

import atoll


class Document(BaseModel):
    text: str


def post(body: Document) -> object:
    try:
        return {"data": yaml.safe_load(body.text)}
    except yaml.YAMLError as exc:
        return atoll.Response({"error": str(exc)}, status=422)
