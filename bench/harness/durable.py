"""The durable section: the same durable wrapper on the reference (HAYHOOKS_DURABLE_MODE) and on ours, with the
memory store and a Redis server the harness starts (and ours also on its embedded SQLite store).

Each run submits ``durable_executions`` executions from ``durable_clients`` client threads as fast as the server
accepts them, then waits until every one is completed. Measured from the executions' own server timestamps
(``created_at``, ``updated_at`` of the completed execution, the same fields on both servers):

- completed executions per second: executions / (last completion - first submission);
- submit-to-completed p50 / p99: ``updated_at - created_at`` per execution.

Both servers run with their default durable settings (worker concurrency, poll interval, leases).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

from . import procs
from .httpcalls import request
from .servers import ServerSpec, server_env, wait_idle

STORES = ("memory", "redis", "sqlite")
NAME = "durable_job"

WRAPPER = """
from haystack import Pipeline
from pydantic import BaseModel

from bench_components import Shout
from hayhooks import BasePipelineWrapper, DurableContext


class Job(BaseModel):
    n: int = 1


class Done(BaseModel):
    value: int


class PipelineWrapper(BasePipelineWrapper):
    durable_revision = "bench-1"

    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("shout", Shout())

    async def run_durable_async(self, context: DurableContext, request: Job) -> Done:
        await context.report_progress("working")
        return Done(value=request.n * 2)
"""


def say(message: str) -> None:
    print(message, flush=True)


def write_pipelines(pdir: Path) -> None:
    folder = pdir / NAME
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline_wrapper.py").write_text(WRAPPER)


class RedisProcess:
    """A ``redis-server`` on a free loopback port, stopped by its pid."""

    def __init__(self, work: Path) -> None:
        self.port = procs.free_port()
        self.dir = work / f"redis-{self.port}"
        self.dir.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.dir)]
        self.popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def _durable_env(spec: ServerSpec, store: str, redis: RedisProcess | None, tag: str) -> dict:
    env = {"HAYHOOKS_DURABLE_STORE": store}
    if spec.key == "ref":
        env["HAYHOOKS_DURABLE_MODE"] = "true"
    if redis is not None:
        env["HAYHOOKS_DURABLE_REDIS_URL"] = redis.url
        env["HAYHOOKS_DURABLE_REDIS_KEY_PREFIX"] = f"bench:{tag}"
    return env


def _start(spec: ServerSpec, work: Path, pdir: Path, env_extra: dict, tag: str) -> procs.ServerProcess:
    port = procs.free_port()
    run_dir = work / "runs" / f"{spec.key}-durable-{tag}-{port}"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**server_env(work, pdir), **env_extra}
    server = procs.launch(spec.key, spec.argv(port, pdir, 1), port, env, cwd=run_dir, log_path=run_dir / "server.log")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{spec.label} exited:\n{server.log_tail()}")
        try:
            status = request(port, "GET", "/status", timeout=2)
            if status.status == 200 and NAME in (status.json().get("pipelines") or []):
                return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{spec.label} did not deploy {NAME}:\n{server.log_tail()}")


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _submit_all(port: int, count: int, clients: int) -> list[str]:
    """Submit ``count`` executions from ``clients`` threads, each on one keep-alive connection."""
    locations: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    numbers = iter(range(count))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                body = json.dumps({"n": n}).encode()
                conn.request("POST", f"/{NAME}/run-durable", body=body, headers={"Content-Type": "application/json"})
                reply = conn.getresponse()
                data = reply.read()
                if reply.status != 202:
                    with lock:
                        errors.append(f"submit answered {reply.status}: {data[:200]!r}")
                    return
                with lock:
                    locations.append(json.loads(data)["links"]["self"])
        except (OSError, http.client.HTTPException) as exc:
            with lock:
                errors.append(f"submit failed: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise RuntimeError(errors[0])
    return locations


def _wait_completed(port: int, locations: list[str], limit: float) -> list[dict]:
    """Poll until every execution is completed. Executions finish roughly in submission order, so a pass stops
    at the first unfinished one: the polling itself stays a light load on the server under test."""
    pending = list(locations)
    done: list[dict] = []
    deadline = time.monotonic() + limit
    while pending and time.monotonic() < deadline:
        still = []
        for index, location in enumerate(pending):
            body = request(port, "GET", location, timeout=30).json()
            if body.get("status") == "completed":
                done.append(body)
            elif body.get("status") in ("failed", "canceled"):
                raise RuntimeError(f"execution {body.get('status')}: {body.get('error')}")
            else:
                still = pending[index:]
                break
        pending = still
        if pending:
            time.sleep(0.1)
    if pending:
        raise RuntimeError(f"{len(pending)} of {len(locations)} executions not completed within {limit:.0f}s")
    return done


def measure(port: int, count: int, clients: int) -> dict:
    locations = _submit_all(port, count, clients)
    executions = _wait_completed(port, locations, limit=max(120.0, count * 0.5))
    created = [_stamp(e["created_at"]) for e in executions]
    finished = [_stamp(e["updated_at"]) for e in executions]
    latencies = sorted((f - c) * 1000 for c, f in zip(created, finished, strict=True))
    span = max(finished) - min(created)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]

    return {"eps": len(executions) / span if span > 0 else float("nan"), "p50_ms": pct(50), "p99_ms": pct(99)}


def section_durable(cfg, specs: list[ServerSpec], work: Path, results) -> None:
    pdir = work / "pipelines" / "durable-set"
    write_pipelines(pdir)
    have_redis = shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()
    for store in STORES:
        for spec in specs:
            if spec.is_floor or (store == "sqlite" and spec.key == "ref"):
                continue  # the reference has no embedded store; the floor app has no durable routes
            if not spec.available:
                results.fail("durable", store, spec.key, spec.reason or "unavailable")
                continue
            if store == "redis" and not have_redis:
                results.fail("durable", store, spec.key, "redis-server is not installed")
                continue
            for run in range(cfg.runs):
                redis = RedisProcess(work) if store == "redis" else None
                server = None
                try:
                    tag = f"{store}-{run}"
                    server = _start(spec, work, pdir, _durable_env(spec, store, redis, tag), tag)
                    wait_idle(server, limit=10)
                    measure(server.port, max(10, cfg.durable_executions // 10), cfg.durable_clients)  # warm-up
                    values = measure(server.port, cfg.durable_executions, cfg.durable_clients)
                    results.add("durable", store, spec.key, values)
                    say(
                        f"    durable {store:<6} {spec.label:<10} run {run + 1}: {values['eps']:8.1f} executions/s  "
                        f"p50 {values['p50_ms']:8.1f} ms  p99 {values['p99_ms']:8.1f} ms"
                    )
                except Exception as exc:  # noqa: BLE001 - recorded, the bench goes on
                    say(f"    ! durable {store} {spec.label}: {exc}")
                    results.fail("durable", store, spec.key, str(exc))
                    break
                finally:
                    if server is not None:
                        server.stop()
                    if redis is not None:
                        redis.stop()
