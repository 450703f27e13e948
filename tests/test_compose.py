import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_docker_compose_file_is_valid_and_has_the_production_shape():
    binary = shutil.which("docker-compose")
    assert binary, "scripts/setup --dev installs Debian's docker-compose"
    env = {
        "PATH": "/usr/bin:/bin",
        "POSTGRES_PASSWORD": "pw",
        "SECRET_KEY": "key",
        "CREDENTIALS_KEYS": "keys",
    }
    result = subprocess.run(
        [binary, "--profile", "demo", "config", "--services"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert services == {"web", "worker", "beat", "redis", "postgres", "dovecot"}


def test_docker_compose_demands_its_secrets():
    result = subprocess.run(
        ["docker-compose", "config", "-q"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def _services(config: str) -> dict[str, dict[str, str]]:
    """Each service's restart policy, command and environment, from `config`.

    A reader of the few keys needed here, in the layout docker-compose prints.
    """
    services: dict[str, dict[str, str]] = {}
    service: dict[str, str] | None = None
    in_environment = False
    for line in config.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            service = services.setdefault(line.strip()[:-1], {})
            in_environment = False
        elif service is not None and line.startswith("    ") and line[4] != " ":
            key, _, value = line.strip().partition(":")
            in_environment = key == "environment"
            service[key] = value.strip()
        elif service is not None and in_environment and line.startswith("      "):
            key, _, value = line.strip().partition(":")
            service[key] = value.strip().strip("'\"")
        if not line.startswith(" "):
            service = None
    return services


def test_every_process_restarts_and_sizes_its_pool_from_its_threads():
    env = {
        "PATH": "/usr/bin:/bin",
        "POSTGRES_PASSWORD": "pw",
        "SECRET_KEY": "key",
        "CREDENTIALS_KEYS": "keys",
    }
    result = subprocess.run(
        ["docker-compose", "config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = _services(result.stdout)
    for name in ("web", "worker", "beat", "redis", "postgres"):
        assert services[name]["restart"] == "unless-stopped", name
    web, worker, beat = services["web"], services["worker"], services["beat"]
    assert int(web["DATABASE_POOL_SIZE"]) == int(web["WEB_THREADS"]) + 2
    assert worker["WEBMAIL_PROCESS"] == "worker"
    assert int(worker["WORKER_DATABASE_POOL_SIZE"]) == int(
        worker["WORKER_THREADS"]
    ) + int(worker["IMAP_PUSH_THREADS"])
    # The threads are the settings' (WORKER_THREADS), which size the pool.
    assert "--concurrency" not in worker["command"]
    assert beat["WEBMAIL_PROCESS"] == "beat"
    # The budget in the file's comment: two web processes, one worker, beat.
    processes = re.search(r"--workers (\d+)", (REPO / "docker-compose.yml").read_text())
    assert processes is not None
    budget = (
        int(processes[1]) * int(web["DATABASE_POOL_SIZE"])
        + int(worker["WORKER_DATABASE_POOL_SIZE"])
        + 1
    )
    text = (REPO / "docker-compose.yml").read_text()
    assert re.search(rf"#   total +{budget}\n", text), budget
    assert "max_connections=120" in text and budget < 120 - 3
