"""No Docker engine runs here, so the compose file is checked by reading it."""

import re
import shlex

import yaml

from tests.servers import BASE_DIR


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        name, command = line.split(":", 1)
        entries[name] = shlex.split(command)
    return entries


def normalise(words: list[str]) -> list[str]:
    """Procfile commands read host/port/worker counts from env with defaults; compose
    fixes them for containers. Compare everything else word for word."""
    fixed = {"--host": None, "--port": None}
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if word in fixed:
            skip = True
            continue
        out.append(re.sub(r"\$\{\w+:-(\w+)\}", r"\1", word))
    return out


def test_compose_services_run_the_procfile_commands():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, command in procfile().items():
        assert normalise(shlex.split(services[name]["command"])) == normalise(
            command
        ), name


def test_compose_has_healthchecks_and_waits_for_healthy_backing_services():
    services = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"]
    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert (
        services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    )
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgresql://")


def test_dockerfile_is_multi_stage_and_runs_as_non_root():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users
    assert users[-1] not in ("root", "0")
    web = procfile()["web"]
    assert re.search(
        r'CMD \["sh", "-c", "exec uvicorn marketpulse.asgi:application', dockerfile
    )
    assert web[:2] == ["uvicorn", "marketpulse.asgi:application"]


def test_compose_gives_the_response_cache_its_own_evicting_redis():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    cache = compose["services"]["cache"]["command"]
    assert cache[cache.index("--maxmemory-policy") + 1] == "allkeys-lru"
    assert "--maxmemory" in cache
    main = compose["services"]["redis"]["command"]
    assert "--maxmemory-policy" not in main  # never evicts: broker, limits, prices
    env = compose["x-app"]["environment"]
    assert env["CACHE_REDIS_URL"].startswith("redis://cache:")
    assert env["REDIS_URL"].startswith("redis://redis:")


def test_the_image_installs_the_pages_libraries_from_the_lock_file():
    """The pages' import map names the chart library's hashed file: an image without
    node_modules/ at collectstatic would serve no page at all."""
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "COPY package.json package-lock.json" in dockerfile
    assert "RUN npm ci" in dockerfile
    copied = dockerfile.index("/build/node_modules ./node_modules")
    assert copied < dockerfile.index("collectstatic")
    assert "node_modules" in (BASE_DIR / ".dockerignore").read_text().split()
