"""Which model a turn talks to: the tenant's own when it set one, else the server's
(``ATOLL_LLM_*``).

A tenant's model URL is tenant input that the control plane connects to, so it is held to
what the egress proxy holds an app to: http(s) only, no credentials in the URL, and,
unless the operator allows it (``ATOLL_AGENT_TENANT_MODEL_PRIVATE_HOSTS``), no loopback,
private or link-local address. The check runs when the URL is set and again on every
request: ``GuardedTransport`` resolves the name itself, refuses a private answer and
connects to the address it checked (TLS still verifies the name), so a name that resolves
elsewhere later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from atoll.errors import BadInput, Forbidden
from atoll.runtime.egress import is_private
from atoll.services import ControlPlane
from atoll.store import agent as turn_repo
from atoll.store.records import AgentModel

from .provider import MAX_PRICE, ChatProvider, ModelSettings

MAX_URL_CHARS = 2000
MAX_MODEL_CHARS = 200
MAX_KEY_CHARS = 4000


@dataclass(frozen=True)
class ModelChoice:
    """The settings a tenant's turns use, whose they are (``tenant`` or ``server``), and
    whether its connections must go to public addresses only."""

    settings: ModelSettings
    source: str
    guarded: bool = False

    def provider(self) -> ChatProvider:
        client = guarded_client(timeout=self.settings.timeout_s) if self.guarded else None
        return ChatProvider(self.settings, http_client=client)


def model_for(cp: ControlPlane, tenant_id: int) -> ModelChoice:
    """The tenant's own model if it set one (and the operator lets tenants), else the
    server's; ``ModelNotConfigured`` saying what to set when there is neither."""
    policy = cp.settings.agent
    if policy.tenant_models:
        with cp.engine.connect() as conn:
            own = turn_repo.get_model(conn, tenant_id)
        if own is not None:
            settings = ModelSettings(
                base_url=own.base_url,
                model=own.model,
                api_key=own.api_key,
                price_input=own.price_input,
                price_output=own.price_output,
            )
            return ModelChoice(settings, "tenant", not policy.tenant_model_private_hosts)
    return ModelChoice(ModelSettings.from_env(), "server")


def checked_model(
    base_url: str, model: str, api_key: str, price_input: float, price_output: float
) -> tuple[str, str, str, float, float]:
    """The fields of a tenant's model as given, or ``BadInput`` naming what is wrong."""
    base_url = base_url.strip()
    if len(base_url) > MAX_URL_CHARS:
        raise BadInput(f"base_url is longer than {MAX_URL_CHARS} characters")
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput("base_url must be an http(s) URL such as https://api.example.com/v1")
    if parts.username is not None or parts.password is not None:
        raise BadInput("base_url must not carry credentials: give the key as api_key")
    if not base_url.isprintable() or any(c.isspace() for c in base_url):
        raise BadInput("base_url must not contain spaces or control characters")
    model = model.strip()
    if not model or len(model) > MAX_MODEL_CHARS or not model.isprintable():
        raise BadInput(f"model must be a name of 1 to {MAX_MODEL_CHARS} printable characters")
    if len(api_key) > MAX_KEY_CHARS or not api_key.isprintable():
        raise BadInput(f"api_key must be at most {MAX_KEY_CHARS} printable characters")
    for name, value in (("price_input", price_input), ("price_output", price_output)):
        if not 0.0 <= value <= MAX_PRICE:
            raise BadInput(f"{name} must be between 0 and {MAX_PRICE:g} dollars per million")
    return base_url, model, api_key, price_input, price_output


def check_reachable(base_url: str, private_hosts: bool) -> None:
    """``Forbidden`` when the URL's host resolves to an address a tenant may not use."""
    if private_hosts:
        return
    parts = urllib.parse.urlsplit(base_url)
    public_address(parts.hostname or "", parts.port or _default_port(parts.scheme))


def public_address(host: str, port: int) -> str:
    """An address of ``host`` to connect to, every one of them public; ``Forbidden`` when
    one is loopback, private or link-local, ``BadInput`` when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise BadInput(f"the model server's host {host[:100]!r} does not resolve") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise BadInput(f"the model server's host {host[:100]!r} does not resolve")
    for address in addresses:
        if is_private(address.split("%", 1)[0]):
            raise Forbidden(
                f"the model server's host {host[:100]!r} resolves to a non-public address "
                f"({address}); the operator allows that with "
                "ATOLL_AGENT_TENANT_MODEL_PRIVATE_HOSTS=true"
            )
    return addresses[0]


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class GuardedTransport(httpx.HTTPTransport):
    """Connects only to public addresses, the ones it checked itself."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = public_address(host, request.url.port or _default_port(request.url.scheme))
        if address != host:
            # The Host header was set from the name; TLS is told the name too, so the
            # certificate is still checked against it.
            request.extensions = {**request.extensions, "sni_hostname": host}
            request.url = request.url.copy_with(host=address)
        return super().handle_request(request)


def guarded_client(**kwargs: Any) -> httpx.Client:
    """An HTTP client for a tenant's model server (see ``GuardedTransport``)."""
    return httpx.Client(transport=GuardedTransport(), **kwargs)


def describe_model(choice: AgentModel | None) -> dict[str, Any]:
    """A tenant's model as the API shows it: never the key, only whether there is one."""
    if choice is None:
        return {"source": "server"}
    return {
        "source": "tenant",
        "base_url": choice.base_url,
        "model": choice.model,
        "api_key_set": bool(choice.api_key),
        "price_input": choice.price_input,
        "price_output": choice.price_output,
        "updated_at": choice.updated_at.isoformat(),
        "updated_by": choice.updated_by,
    }
