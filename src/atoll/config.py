"""Platform configuration: one settings model read from ``ATOLL_*`` once at start-up."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

from pydantic import Field, IPvAnyNetwork
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024
LOOPBACK: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("127.0.0.0/8"),
    IPv6Network("::1/128"),
)


class Limits(BaseSettings):
    """Size and count limits on what tenants may store."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_LIMIT_", frozen=True)

    max_file_bytes: int = Field(5 * MiB, description="Largest single workspace file.")
    max_workspace_bytes: int = Field(200 * MiB, description="Largest total workspace size.")
    max_files: int = Field(5000, description="Most files in one workspace.")
    max_app_store_bytes: int = Field(
        2048 * MiB,
        description="Most bytes of file content one app keeps, every revision and upload "
        "together (uploads no revision names are collected after an hour to make room).",
    )
    max_path_length: int = Field(1024, description="Longest workspace path, in bytes.")
    max_body_bytes: int = Field(
        300 * MiB, description="Largest HTTP request body the control plane accepts."
    )
    max_json_body_bytes: int = Field(
        8 * MiB, description="Largest JSON request body (file contents travel base64 or raw)."
    )


class RuntimeSettings(BaseSettings):
    """How tenant functions are sandboxed and pooled; per-app ``[limits]`` stay within these."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_RUNTIME_", frozen=True)

    backend: str = Field(
        "bwrap",
        description="The platform default sandbox backend: bwrap (namespaces + seccomp) or "
        "runsc (gVisor; gvisor is accepted too). Tenants on the gvisor tier use runsc either way.",
    )
    runsc: str = Field(
        "runsc",
        description="The gVisor runsc binary (a name looked up on PATH, or a path). Where it "
        "is missing, tenants on the gvisor tier are refused, never run in bwrap instead.",
    )
    runsc_platform: str = Field(
        "auto",
        description="gVisor platform: kvm, systrap or ptrace, or auto (probe each one this "
        "runsc offers at start, fastest first, and use the first that runs a sandbox).",
    )
    probe_seconds: float = Field(
        10.0, gt=0, description="How long a gVisor platform probe may take (kvm can hang)."
    )
    runsc_probe_cache: Path | None = Field(
        Path("/run/atoll-runsc-platforms.json"),
        description="Host file keeping the platform probes' results (keyed on the runsc "
        "binary and the kernel) so a host probes once; unset to probe at every start.",
    )
    runtime_dir: Path | None = Field(
        None,
        description="Where sandbox-visible files live (must be traversable by the sandbox "
        "uids); default data_dir/runtime, or a folder under /tmp when that is not reachable.",
    )
    sandbox_uid_base: int = Field(
        1_000_000,
        ge=1,
        description="First unprivileged host uid given to sandboxes (one per slot). Each "
        "running instance reserves its own range of sandbox_uid_count uids from here on.",
    )
    sandbox_uid_count: int = Field(
        4096, ge=16, description="Host uids (= sandbox slots) one instance reserves."
    )
    sandbox_uid_ranges: int = Field(
        64,
        ge=1,
        description="How many ranges of sandbox_uid_count uids, one after the other from "
        "sandbox_uid_base, the instances on one host choose from (the first free one).",
    )
    uid_reservation_dir: Path = Field(
        Path("/run/atoll-uid-ranges"),
        description="Host folder (created root-owned, mode 0700) where each running instance "
        "holds a lock on the uid range it uses; the lock goes when the process does.",
    )
    cgroup_root: Path = Field(
        Path("/sys/fs/cgroup"), description="Where the cgroup file systems (v1 or v2) are."
    )
    allow_no_cgroups: bool = Field(
        False,
        description="Start sandboxes even when the cgroup memory and pids controllers are not "
        "usable, limited by rlimits alone (files in tmpfs, memfds and SysV shm are then not "
        "counted against memory_mb). Announced at start.",
    )
    pool_size: int = Field(2, description="Generic pre-started sandboxes kept ready.")
    idle_seconds: float = Field(60.0, description="An idle app zygote exits after this long.")
    worker_max_requests: int = Field(1000, description="A worker is replaced after this many.")
    worker_poll_us: int = Field(
        500,
        ge=0,
        le=10_000,
        description="After a call made while CPUs were spare, the worker polls this long for "
        "its next call before it sleeps (0: never); a sleeping worker is slow to wake on VMs.",
    )
    max_timeout_seconds: float = Field(60.0, description="Largest per-app wall-clock limit.")
    max_memory_mb: int = Field(1024, description="Largest per-app memory limit.")
    max_processes: int = Field(128, description="Largest per-app process limit.")
    max_concurrency: int = Field(16, description="Largest per-app concurrency cap.")
    max_tmp_mb: int = Field(256, description="Largest per-app /tmp size.")
    max_queue_wait_seconds: float = Field(
        10.0,
        gt=0,
        description="Largest per-app wait budget ([limits] queue_wait_seconds, default 2): a "
        "request is admitted to wait for an app only while its expected wait stays under it.",
    )
    max_queued_calls: int = Field(
        10_000,
        ge=1,
        description="Most requests one app environment may have admitted and unfinished on "
        "top of its concurrency, whatever their expected wait ([limits] queue may lower it).",
    )
    max_queued_body_bytes: int = Field(
        64 * MiB,
        ge=0,
        description="Most bytes of request bodies waiting for one app environment (503 past it).",
    )
    max_running_calls: int = Field(
        256,
        ge=1,
        description="Most function calls on workers at once over all apps (pipelined calls "
        "count). Past it calls wait, and the apps waiting take turns by tenant.",
    )
    egress_private_allowed: list[str] = Field(
        default_factory=list,
        description="host:port pairs on private or loopback addresses that apps may list "
        "under [egress] allow (all other private addresses are refused).",
    )
    python_index_url: str | None = Field(
        None,
        description="Package index uv resolves and installs [python] dependencies from "
        "(default: uv's own default). Apps cannot choose an index, find-links or URLs.",
    )
    max_python_dependencies: int = Field(
        64, ge=0, description="Most entries an app may list under [python] dependencies."
    )
    max_python_dependency_length: int = Field(
        200, ge=1, description="Longest [python] dependencies entry, in characters."
    )


class HttpLimits(BaseSettings):
    """Bounds on HTTP traffic at the platform's edges (control plane, gateway, DB service)."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_HTTP_", frozen=True)

    head_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="A client must send a whole request head (request line and headers) within "
        "this many seconds of connecting, or on a kept-alive connection of the next request's "
        "first byte; else 408 and the connection closes (one that sent nothing just closes).",
    )
    max_incomplete_per_address: int = Field(
        64,
        ge=1,
        description="Most connections from one client address (IPv6: one /64) whose request "
        "head is not whole yet (new connections that sent nothing included), over the three "
        "ports together; one more closes that address's oldest such connection.",
    )
    max_incomplete: int = Field(
        4096,
        ge=1,
        description="Most connections whose request head is not whole yet, from all addresses "
        "over the three ports; one more closes the oldest. At most a quarter of the process's "
        "open-file limit is used.",
    )
    max_idle_per_address: int = Field(
        1024,
        ge=1,
        description="Most kept-alive connections from one client address (IPv6: one /64) idle "
        "between requests; one more closes that address's longest idle one.",
    )
    max_idle: int = Field(
        4096,
        ge=1,
        description="Most kept-alive connections idle between requests, from all addresses; one "
        "more closes the longest idle one. At most a quarter of the open-file limit is used.",
    )
    per_address_exempt: list[IPvAnyNetwork] = Field(
        default_factory=lambda: list(LOOPBACK),
        description="Client networks the per-address caps skip (the overall caps still count "
        "them): a reverse proxy on this host is one address for all its visitors. JSON list of "
        "CIDRs; [] caps loopback clients too.",
    )
    tenant_share_requests: int = Field(
        4,
        ge=1,
        description="While the gateway's event loop runs late, most requests one tenant may "
        "have in flight through it (or the app's concurrency, if higher); its other answered "
        "connections wait (at most 1 s) before their next request is read.",
    )
    tenant_share_lag_ms: float = Field(
        5.0,
        gt=0,
        description="How late the gateway's event loop must run a timer to count as saturated "
        "(tenants are then held to their share until it is on time for a second).",
    )
    max_head_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest request head (request line and headers): 431."
    )
    max_headers: int = Field(200, ge=8, description="Most header lines in a request: 431.")
    max_response_headers: int = Field(
        100, ge=8, description="Most headers a function's response may carry (more: 500)."
    )
    max_response_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest total size of a function's response headers (more: 500).",
    )


class DatabaseSettings(BaseSettings):
    """App environment databases: token lifetimes, the size quota, stream limits."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_DATABASE_", frozen=True)

    token_ttl_seconds: int = Field(
        3600, ge=60, description="Lifetime of a token from `atoll db url` unless it asks."
    )
    max_token_ttl_seconds: int = Field(
        7 * 24 * 3600,
        ge=60,
        le=365 * 24 * 3600,
        description="Longest lifetime `atoll db url --ttl` may ask for.",
    )
    proxy_token_ttl_seconds: int = Field(
        3600,
        ge=600,
        description="Lifetime of the token a sandbox's database proxy adds (renewed before "
        "it ends; the token never enters the sandbox).",
    )
    in_process: bool = Field(
        True,
        description="Where the DB service runs in the runtime's own process (`atoll serve`), "
        "functions' database requests are handed to it directly, with the same checks; "
        "false sends them over loopback HTTP, as when the service runs elsewhere.",
    )
    max_database_mb: int = Field(
        1024, ge=1, description="Size quota of each app environment's database, in MiB."
    )
    inline_read_ms: float = Field(
        1.0,
        ge=0,
        le=50,
        description="A read in autocommit first runs on the DB service's event loop, stopped "
        "after this long and run again on a reader thread (0: every read on a thread).",
    )
    max_streams: int = Field(1000, ge=1, description="Most open Hrana streams in all.")
    max_streams_per_tenant: int = Field(
        200, ge=1, description="Most open Hrana streams over all of one tenant's databases."
    )
    max_streams_per_database: int = Field(
        100, ge=1, description="Most open Hrana streams on one database."
    )
    max_snapshots: int = Field(
        20,
        ge=1,
        description="Snapshots kept per database (each a whole copy); taking another deletes "
        "the oldest.",
    )


class ProxySettings(BaseSettings):
    """Bounds on the egress and database sockets each sandbox gets (tenant code drives them)."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_PROXY_", frozen=True)

    egress_max_connections: int = Field(
        64, ge=1, description="Open connections one sandbox may hold to its egress proxy (503)."
    )
    egress_head_timeout_seconds: float = Field(
        10.0, gt=0, description="A sandbox must send a whole request head within this long (408)."
    )
    egress_connect_timeout_seconds: float = Field(
        10.0, gt=0, description="Resolving and connecting to an allowed target, at most (504)."
    )
    egress_idle_seconds: float = Field(
        300.0,
        gt=0,
        description="A tunnel or forwarded connection with no bytes either way this long closes.",
    )
    egress_max_lookups: int = Field(
        2,
        ge=1,
        description="DNS lookups one sandbox's egress proxy runs at once (each holds a thread "
        "of the pool the whole platform shares).",
    )
    database_max_connections: int = Field(
        64, ge=1, description="Open connections one sandbox may hold to its database socket (503)."
    )
    database_idle_seconds: float = Field(
        120.0, gt=0, description="A database connection with no new request this long closes."
    )
    database_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="One database request, from its body to the sandbox having read the whole "
        "answer (504, or the connection closes).",
    )
    database_max_requests: int = Field(
        4,
        ge=1,
        description="Database requests of one sandbox forwarded at once (each may hold an 8 MiB "
        "request and a 64 MiB answer); the rest wait.",
    )


class LogSettings(BaseSettings):
    """How much of the function logs the platform keeps, in memory and on disk."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_LOG_", frozen=True)

    entries_per_environment: int = Field(
        1000, ge=1, description="Newest entries of one app environment kept in memory."
    )
    bytes_per_environment: int = Field(
        1 * MiB,
        ge=1,
        description="Most memory the kept entries of one app environment take (older entries "
        "are read from its file); also the most waiting to be written before a write.",
    )
    environments: int = Field(
        128,
        ge=1,
        description="App environments whose entries are kept in memory; the least recently "
        "written are let go (their files remain).",
    )
    file_bytes: int = Field(5 * MiB, ge=1, description="A log file is rotated to .1 past this.")
    open_files: int = Field(64, ge=1, description="Log files kept open for appending.")
    follower_bytes: int = Field(
        1 * MiB,
        ge=1,
        description="Entries waiting for one `logs --follow` reader; a slower reader misses some.",
    )


class AgentSettings(BaseSettings):
    """What the agent may do on its own."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_AGENT_", frozen=True)

    auto_dependencies: bool = Field(
        True,
        description="Add the PyPI package of an import nothing provides to [python] "
        "dependencies by itself (the checks then install it).",
    )
    packages_allow: list[str] | None = Field(
        None, description="Only these PyPI packages may be added by the agent (default: any)."
    )
    packages_deny: list[str] = Field(
        default_factory=list, description="PyPI packages the agent never adds by itself."
    )
    npm_packages_allow: list[str] | None = Field(
        None,
        description="Only these npm packages may be added to components/package.json by the "
        "agent (default: any).",
    )
    npm_packages_deny: list[str] = Field(
        default_factory=list,
        description="npm packages the agent never adds; a component importing one fails its "
        "checks.",
    )
    tenant_models: bool = Field(
        True,
        description="Tenants may set their own model server for their turns (PUT "
        "/api/v1/agent/model) instead of the server's ATOLL_LLM_* one.",
    )
    tenant_model_private_hosts: bool = Field(
        False,
        description="A tenant's model server may be on a loopback, private or link-local "
        "address (off: the control plane never connects to this machine's or its network's "
        "services for a tenant).",
    )
    max_cost_usd: float | None = Field(
        None,
        ge=0,
        description="Stop a turn whose model cost passes this many US dollars (at the "
        "model's prices); none by default.",
    )


class IdeSettings(BaseSettings):
    """The IDE's sign-in sessions."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_IDE_", frozen=True)

    session_idle_minutes: int = Field(
        12 * 60, ge=1, le=30 * 24 * 60, description="A session unused this long ends."
    )
    session_max_hours: int = Field(
        7 * 24, ge=1, le=365 * 24, description="A session ends this long after sign-in."
    )


class Settings(BaseSettings):
    """Everything configurable about an Atoll installation."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_", frozen=True)

    data_dir: Path = Field(Path(".atoll"), description="Where all platform data lives.")
    database_url: str | None = Field(
        None,
        description="Metadata database URL (SQLAlchemy); default SQLite under data_dir.",
    )
    host: str = Field("127.0.0.1", description="Address every listener binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Control plane (API + IDE) port.")
    gateway_port: int = Field(8080, ge=1, le=65535, description="App gateway port.")
    db_port: int = Field(8081, ge=1, le=65535, description="DB service (Hrana over HTTP) port.")
    public_host: str = Field(
        "localhost", description="Host name apps are served under: {env}--{app}--{tenant}.HOST."
    )
    busy_poll_us: int = Field(
        200,
        ge=0,
        le=10_000,
        description="Before the server's event loop sleeps, it polls for this many microseconds "
        "(0: never). Saves a costly wake-up per request where idle CPUs halt (e.g. VMs).",
    )
    limits: Limits = Field(default_factory=Limits, description="Storage limits.")
    runtime: RuntimeSettings = Field(
        default_factory=RuntimeSettings, description="Function sandboxes and pools."
    )
    http: HttpLimits = Field(
        default_factory=HttpLimits, description="Request head and response header bounds."
    )
    databases: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="App databases: token lifetimes, size quota, stream limits.",
    )
    proxies: ProxySettings = Field(
        default_factory=ProxySettings, description="Each sandbox's egress and database sockets."
    )
    logs: LogSettings = Field(
        default_factory=LogSettings, description="Function logs kept in memory and on disk."
    )
    agent: AgentSettings = Field(
        default_factory=AgentSettings, description="The AI agent's automatic dependencies."
    )
    ide: IdeSettings = Field(default_factory=IdeSettings, description="The IDE's sessions.")

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata store."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'atoll.db').resolve()}"

    @property
    def admin_token_path(self) -> Path:
        """Where the bootstrap admin token is kept (mode 0600)."""
        return self.data_dir / "admin.token"
