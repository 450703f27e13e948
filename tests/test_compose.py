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
