"""Generate Procfile and compose.yaml from workers.POOLS (and check them for drift).

`switchyard render` rewrites both files; `switchyard render --check` (and a test)
fails when a committed file differs from what the pool definitions produce.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workers.pools import POOLS

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# Generated from workers/pools.py by `switchyard render`; do not edit by hand.\n"


@dataclass(frozen=True)
class Process:
    """A non-pool process; `compose_command`/`ports` where a container differs from a local run."""

    name: str
    command: str
    compose_command: str | None = None
    ports: tuple[str, ...] = ()


# Non-pool processes, in start order. Pipelines add their services here.
EXTRA_PROCESSES: tuple[Process, ...] = (
    Process("beat", "celery -A app beat --loglevel INFO"),
    Process("flower", "switchyard flower", "switchyard flower --address 0.0.0.0",
            ports=("${FLOWER_PORT:-5555}:5555",)),
    Process("api", "switchyard api", "switchyard api --host 0.0.0.0 --port 8080",
            ports=("${ANALYSIS_API_PORT:-8080}:8080",)),
)


def processes() -> list[tuple[str, str]]:
    """(name, command) of every process of a full deployment, in start order."""
    return [(p.name, p.command) for p in EXTRA_PROCESSES] + [
        (pool.name, f"switchyard worker {pool.name}") for pool in POOLS
    ]


def procfile() -> str:
    lines = [HEADER.rstrip("\n")] + [f"{name}: {command}" for name, command in processes()]
    return "\n".join(lines) + "\n"


def _service(name: str, command: str, extra: str = "") -> str:
    return (
        f"  {name}:\n"
        f"    <<: *switchyard\n"
        f"    command: {command}\n"
        f"{extra}"
    )


def compose() -> str:
    out = [HEADER]
    out.append(
        "x-switchyard: &switchyard\n"
        "  build: .\n"
        "  image: switchyard:local\n"
        "  restart: unless-stopped\n"
        "  environment:\n"
        "    REDIS_URL: redis://redis:6379/0\n"
        "    RESULT_BACKEND_URL: redis://redis:6379/1\n"
        "    DATABASE_URL: postgresql+psycopg://postgres:switchyard@postgres:5432/switchyard\n"
        "    ENVIRONMENT: ${ENVIRONMENT:-production}\n"
        "  env_file:\n"
        "    - path: .env\n"
        "      required: false\n"
        "  depends_on:\n"
        "    redis:\n"
        "      condition: service_healthy\n"
        "    migrate:\n"
        "      condition: service_completed_successfully\n"
        "\n"
        "services:\n"
        "  redis:\n"
        "    image: redis:7\n"
        "    # noeviction: an evicted kombu binding breaks routing; AOF keeps queued tasks over restarts.\n"
        "    command: redis-server --maxmemory-policy noeviction --appendonly yes --appendfsync everysec\n"
        "    healthcheck:\n"
        "      test: [\"CMD\", \"redis-cli\", \"ping\"]\n"
        "      interval: 5s\n"
        "      retries: 10\n"
        "  postgres:\n"
        "    image: postgres:16\n"
        "    environment:\n"
        "      POSTGRES_PASSWORD: switchyard\n"
        "      POSTGRES_DB: switchyard\n"
        "    volumes:\n"
        "      - pgdata:/var/lib/postgresql/data\n"
        "    healthcheck:\n"
        "      test: [\"CMD\", \"pg_isready\", \"-U\", \"postgres\"]\n"
        "      interval: 5s\n"
        "      retries: 10\n"
        "  migrate:\n"
        "    <<: *switchyard\n"
        "    command: switchyard migrate\n"
        "    restart: \"no\"\n"
        "    depends_on:\n"
        "      postgres:\n"
        "        condition: service_healthy\n"
    )
    for process in EXTRA_PROCESSES:
        ports = "".join(f'      - "{port}"\n' for port in process.ports)
        extra = f"    ports:\n{ports}" if ports else ""
        out.append(_service(process.name, process.compose_command or process.command, extra))
    for pool in POOLS:
        # No container_name or host ports: `docker compose up --scale <pool>=N` works.
        out.append(_service(pool.name, f"switchyard worker {pool.name}"))
    out.append("\nvolumes:\n  pgdata:\n")
    return "".join(out)


def targets() -> dict[Path, str]:
    return {ROOT / "Procfile": procfile(), ROOT / "compose.yaml": compose()}


def drifted() -> list[Path]:
    return [path for path, text in targets().items() if not path.exists() or path.read_text() != text]


def write() -> list[Path]:
    changed = drifted()
    for path, text in targets().items():
        path.write_text(text)
    return changed
