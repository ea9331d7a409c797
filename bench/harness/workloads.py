"""The measured workloads. Most sections start the servers one after another; the streaming and CPU-bound ones
start them side by side and interleave their runs. Each records raw per-run values (medians are taken by the
report)."""

from __future__ import annotations

import functools
import json
import statistics
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import pipelines, procs
from .durable import section_durable
from .httpcalls import request
from .loadgen import LoadError, run_load, warm_up
from .machine import StealMeter
from .servers import ServerSpec, ServerStartError, start, wait_idle
from .streamclient import StreamError, run_stream_load, stream_once

SECTIONS = ("startup", "run", "stream", "deploy", "cpu", "memory", "durable")


@dataclass
class Config:
    runs: int = 3
    duration: int = 5  # seconds per measured wrk run
    warmup: int = 1  # seconds of unmeasured load before each measured series
    concurrencies: tuple[int, ...] = (1, 16, 64)
    startup_counts: tuple[int, ...] = (0, 20, 100)
    stream_clients: tuple[int, ...] = (1, 32)
    stream_seconds: float = 4.0
    deploy_preloaded: tuple[int, ...] = (0, 100)
    deploy_repeats: int = 5
    cpu_connections: int = 8
    cpu_workers: tuple[int, ...] = (1, 2)
    memory_pipelines: int = 100
    memory_workers: tuple[int, ...] = (1, 2)
    cpu_iterations: int = 0  # filled in by calibration
    durable_executions: int = 300  # per measured durable run (see harness/durable.py)
    durable_clients: int = 8


@dataclass
class Results:
    """values[section][key][server] -> list of per-run values; failures[section][key][server] -> text."""

    values: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    failures: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(dict)))
    notes: list[str] = field(default_factory=list)

    def add(self, section: str, key, server: str, value) -> None:
        self.values[section][key][server].append(value)

    def fail(self, section: str, key, server: str, message: str) -> None:
        first_line = message.strip().splitlines()[0] if message.strip() else "failed"
        self.failures[section][key].setdefault(server, first_line[:160])

    def get(self, section: str, key, server: str) -> list:
        return self.values.get(section, {}).get(key, {}).get(server, [])

    def failure(self, section: str, key, server: str) -> str | None:
        return self.failures.get(section, {}).get(key, {}).get(server)


def say(message: str) -> None:
    print(message, flush=True)


def _start_or_fail(results, section, keys, spec, work, tag, pdir, expected, workers=1, rewrite=None):
    """Start a server, retrying once (after ``rewrite()`` of its pipelines dir, when given: a server that
    damaged its own files gets a clean dir); after two failures mark ``keys`` of ``section`` as failed."""
    for attempt in (1, 2):
        if attempt == 2 and rewrite is not None:
            rewrite()
        try:
            return start(spec, work, tag, pdir, expected, workers=workers)
        except ServerStartError as exc:
            first, *rest = str(exc).splitlines()
            say(f"    ! {spec.label} failed to start (attempt {attempt} of 2): {first}")
            for line in rest:
                say(f"      | {line[:300]}")
            results.notes.append(
                f"{section}: {spec.label} failed to start (attempt {attempt} of 2): {first.rstrip(':')[:200]}"
            )
    for key in keys:
        results.fail(section, key, spec.key, "failed to start")
    return None, None


def _rotated(items: list, shift: int) -> list:
    """``items`` starting at ``shift`` (modulo its length): in interleaved runs, nobody always goes first."""
    if not items:
        return items
    shift %= len(items)
    return items[shift:] + items[:shift]


def _unavailable(results, section, keys, spec) -> bool:
    if spec.available:
        return False
    for key in keys:
        results.fail(section, key, spec.key, spec.reason)
    return True


def _check_run_route(port: int, name: str, body: str) -> str | None:
    """None if POST /NAME/run answers 200 with a JSON object holding "result", else the problem."""
    try:
        reply = request(port, "POST", f"/{name}/run", body.encode(), timeout=30)
    except OSError as exc:
        return f"POST /{name}/run: {exc}"
    if reply.status != 200:
        return f"POST /{name}/run answered {reply.status}: {reply.body[:200]!r}"
    try:
        data = reply.json()
    except ValueError:
        return f"POST /{name}/run answered non-JSON: {reply.body[:200]!r}"
    if not isinstance(data, dict) or "result" not in data:
        return f"POST /{name}/run answered without 'result': {reply.body[:200]!r}"
    return None


# --------------------------------------------------------------------------- startup


def section_startup(cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    """Per pipeline count, the servers' measured starts interleave (run 1 of each server, then run 2, ...), so a
    slow spell of the machine falls on one run of every server, not on one server's whole series."""
    for count in cfg.startup_counts:
        ready: dict[str, tuple[ServerSpec, Path, list[str]]] = {}
        for spec in specs:
            if spec.is_floor and count:
                continue  # the floor app has no pipelines: only its empty start is meaningful
            if _unavailable(results, "startup", [count], spec):
                continue
            # A dir of its own per server: Hayhooks 2.1.0 rewrites every YAML file of the dir when it starts.
            pdir = work / "pipelines" / f"startup-{count}-{spec.key}"
            names = pipelines.write_many(pdir, count)
            # One unmeasured start first, so every measured one finds warm caches (page cache, .pyc).
            server, _ = _start_or_fail(results, "startup", [count], spec, work, f"startup{count}-warm", pdir, names)
            if server is None:
                continue
            server.stop()
            ready[spec.key] = (spec, pdir, names)
        for run in range(cfg.runs):
            for spec, pdir, names in _rotated(list(ready.values()), run):
                server, seconds = _start_or_fail(
                    results, "startup", [count], spec, work, f"startup{count}", pdir, names
                )
                if server is None:
                    del ready[spec.key]
                    continue
                server.stop()
                results.add("startup", count, spec.key, seconds)
                say(f"    startup {count:>3} pipelines  {spec.label:<10} run {run + 1}: {seconds * 1000:8.0f} ms")


# --------------------------------------------------------------------------- run


def section_run(cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    pdir = work / "pipelines" / "run-set"
    names = pipelines.write_run_set(pdir, cfg.cpu_iterations)
    for spec in specs:
        workloads = ["noop"] if spec.is_floor else list(pipelines.RUN_WORKLOADS)
        keys = [(name, conc) for name in workloads for conc in cfg.concurrencies]
        if _unavailable(results, "run", keys, spec):
            continue
        server, _ = _start_or_fail(
            results, "run", keys, spec, work, "run", None if spec.is_floor else pdir, [] if spec.is_floor else names
        )
        if server is None:
            continue
        try:
            wait_idle(server, limit=10)
            for name in workloads:
                body = pipelines.RUN_WORKLOADS[name]
                problem = _check_run_route(server.port, name, body)
                if problem:
                    say(f"    ! {spec.label} {name}: {problem}")
                    for conc in cfg.concurrencies:
                        results.fail("run", (name, conc), spec.key, problem)
                    continue
                for conc in cfg.concurrencies:
                    warm_up(server, f"/{name}/run", body, conc, cfg.warmup)
                    for run in range(cfg.runs):
                        try:
                            res = run_load(server, f"/{name}/run", body, conc, cfg.duration)
                        except LoadError as exc:
                            say(f"    ! {spec.label} {name} c={conc}: {exc}")
                            results.fail("run", (name, conc), spec.key, str(exc))
                            break
                        results.add("run", (name, conc), spec.key, res.as_dict())
                        say(
                            f"    run {name:<5} c={conc:<3} {spec.label:<10} run {run + 1}: "
                            f"{res.rps:9.0f} req/s  p50 {res.p50_ms:7.2f} ms  p99 {res.p99_ms:7.2f} ms  "
                            f"cpu {res.cpu_ms_per_req:6.3f} ms/req"
                        )
        finally:
            server.stop()


# --------------------------------------------------------------------------- streaming


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(pct / 100 * (len(ordered) - 1)))))
    return ordered[index]


STEAL_LIMIT_PCT = 2.0  # a round of stream runs during which the hypervisor stole more CPU time is measured again
EXTRA_ROUNDS = 3  # at most this many rounds beyond cfg.runs; then the least-stolen rounds are kept


def _start_stream_server(cfg: Config, spec: ServerSpec, work: Path, pdir: Path, names, results: Results):
    """A server answering the streaming workload with 200 content chunks, or None (failure recorded)."""
    keys = list(cfg.stream_clients)
    if _unavailable(results, "stream", keys, spec):
        return None
    server, _ = _start_or_fail(
        results, "stream", keys, spec, work, "stream", None if spec.is_floor else pdir, [] if spec.is_floor else names
    )
    if server is None:
        return None
    wait_idle(server, limit=10)
    try:
        chunks, _ = stream_once(server.port, "stream")
        problem = None if chunks == pipelines.STREAM_CHUNKS else f"{chunks} content chunks instead of 200"
    except (OSError, StreamError, ValueError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        say(f"    ! {spec.label} streaming: {problem}")
        for clients in keys:
            results.fail("stream", clients, spec.key, problem)
        server.stop()
        return None
    return server


def _stream_run(cfg: Config, spec: ServerSpec, server: procs.ServerProcess, clients: int) -> dict | str:
    """One measured run: its figures, or the problem that made it fail."""
    steal = StealMeter()
    cpu_before = server.cpu_seconds()
    steal.start()
    stats = run_stream_load(server.port, "stream", clients, cfg.stream_seconds)
    steal_pct = steal.stop()
    cpu_used = server.cpu_seconds() - cpu_before
    bad_counts = stats.chunks_per_request - {pipelines.STREAM_CHUNKS}
    if stats.errors or bad_counts or not stats.requests:
        return stats.errors[0] if stats.errors else f"chunk counts {sorted(bad_counts)}"
    return {
        "chunks_per_s": stats.chunks_per_s,
        "requests": stats.requests,
        "ttfc_p50_ms": _percentile(stats.ttfc, 50) * 1000,
        "ttfc_p99_ms": _percentile(stats.ttfc, 99) * 1000,
        "cpu_us_per_chunk": cpu_used * 1e6 / stats.chunks if stats.chunks else float("nan"),
        "client_busy_pct": stats.client_busy * 100,
        "steal_pct": steal_pct,
    }


def _stream_rounds(cfg: Config, ready: dict, clients: int, results: Results) -> None:
    """Rounds of one run per server, in turn. A round during which the hypervisor stole more than
    ``STEAL_LIMIT_PCT`` of the CPU time is measured again (at most ``EXTRA_ROUNDS`` times), the same for every
    server: tail latencies from such a spell describe the machine's neighbours, not the servers."""
    calm: list[dict] = []
    noisy: list[tuple[float, dict]] = []
    for attempt in range(cfg.runs + EXTRA_ROUNDS):
        if len(calm) >= cfg.runs or not ready:
            break
        round_: dict = {}
        for key, (spec, server) in _rotated(list(ready.items()), attempt):
            outcome = _stream_run(cfg, spec, server, clients)
            if isinstance(outcome, str):
                say(f"    ! {spec.label} streaming {clients} clients: {outcome}")
                results.fail("stream", clients, spec.key, outcome)
                del ready[key]
                continue
            round_[key] = outcome
            say(
                f"    stream clients={clients:<3} {spec.label:<10} round {attempt + 1}: "
                f"{outcome['chunks_per_s']:9.0f} chunks/s  ttfc p50 {outcome['ttfc_p50_ms']:7.2f} ms  "
                f"p99 {outcome['ttfc_p99_ms']:7.2f} ms  cpu {outcome['cpu_us_per_chunk']:6.1f} us/chunk  "
                f"(client busy {outcome['client_busy_pct']:.0f}%, steal {outcome['steal_pct']:.1f}%)"
            )
        worst = max((entry["steal_pct"] for entry in round_.values()), default=0.0)
        if worst <= STEAL_LIMIT_PCT:
            calm.append(round_)
        else:
            noisy.append((worst, round_))
            say(f"    (round {attempt + 1}: the hypervisor stole {worst:.1f}% of the CPU time; measuring again)")
    kept = calm + [round_ for _, round_ in sorted(noisy, key=lambda pair: pair[0])[: max(0, cfg.runs - len(calm))]]
    if noisy:
        results.notes.append(
            f"stream, {clients} client(s): {len(noisy)} round(s) measured during hypervisor steal above "
            f"{STEAL_LIMIT_PCT:g}% ({', '.join(f'{worst:.1f}%' for worst, _ in noisy)}); "
            f"{len(kept) - len(calm)} of them kept for lack of calm ones"
        )
    for round_ in kept:
        for key, entry in round_.items():
            results.add("stream", clients, key, entry)


def section_stream(cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    """Every server started side by side; their runs interleave in rounds (see ``_stream_rounds``), so a slow
    spell of the machine falls on one round of all servers, not on one server's whole series."""
    pdir = work / "pipelines" / "run-set"
    names = pipelines.write_run_set(pdir, cfg.cpu_iterations)
    started: dict[str, tuple[ServerSpec, procs.ServerProcess]] = {}
    try:
        for spec in specs:
            server = _start_stream_server(cfg, spec, work, pdir, names, results)
            if server is not None:
                started[spec.key] = (spec, server)
        for clients in cfg.stream_clients:
            for _, server in started.values():
                run_stream_load(server.port, "stream", clients, min(1.0, cfg.stream_seconds))  # warm-up
            _stream_rounds(cfg, dict(started), clients, results)
    finally:
        for _, server in started.values():
            server.stop()


# --------------------------------------------------------------------------- runtime deploy


def section_deploy(cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    for preloaded in cfg.deploy_preloaded:
        for spec in specs:
            if spec.is_floor:
                continue
            if _unavailable(results, "deploy", [preloaded], spec):
                continue
            pdir = work / "pipelines" / f"deploy-{preloaded}-{spec.key}"
            names = pipelines.write_many(pdir, preloaded)
            server, _ = _start_or_fail(results, "deploy", [preloaded], spec, work, f"deploy{preloaded}", pdir, names)
            if server is None:
                continue
            try:
                wait_idle(server, limit=20)
                # Build the schema once before measuring, as a client would already have done.
                request(server.port, "GET", "/openapi.json", timeout=60)
                for index in range(max(cfg.deploy_repeats, cfg.runs)):
                    name = f"hot_{index:02d}"
                    payload = {
                        "name": name,
                        "files": {"pipeline_wrapper.py": pipelines.SYNC_WRAPPER},
                        "overwrite": False,
                        "save_files": False,
                    }
                    deployed = request(server.port, "POST", "/deploy_files", json.dumps(payload).encode(), timeout=60)
                    if deployed.status != 200:
                        problem = f"POST /deploy_files answered {deployed.status}: {deployed.body[:200]!r}"
                        say(f"    ! {spec.label}: {problem}")
                        results.fail("deploy", preloaded, spec.key, problem)
                        break
                    schema = request(server.port, "GET", "/openapi.json", timeout=60)
                    if schema.status != 200 or f"/{name}/run".encode() not in schema.body:
                        problem = f"GET /openapi.json after deploying {name}: {schema.status}, route not listed"
                        say(f"    ! {spec.label}: {problem}")
                        results.fail("deploy", preloaded, spec.key, problem)
                        break
                    if index == 0:
                        problem = _check_run_route(server.port, name, pipelines.RUN_WORKLOADS["sync"])
                        if problem:
                            say(f"    ! {spec.label}: deployed pipeline does not run: {problem}")
                            results.fail("deploy", preloaded, spec.key, problem)
                            break
                    results.add(
                        "deploy",
                        preloaded,
                        spec.key,
                        {"deploy_ms": deployed.seconds * 1000, "openapi_ms": schema.seconds * 1000},
                    )
                    say(
                        f"    deploy with {preloaded:>3} deployed {spec.label:<10} #{index + 1}: "
                        f"deploy {deployed.seconds * 1000:8.1f} ms  first /openapi.json {schema.seconds * 1000:8.1f} ms"
                    )
            except OSError as exc:
                say(f"    ! {spec.label}: {exc}")
                results.fail("deploy", preloaded, spec.key, str(exc))
            finally:
                server.stop()


# --------------------------------------------------------------------------- CPU-bound


def section_cpu(cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    """Each server with every worker count started side by side; their runs interleave (run 1 of each worker
    count, then run 2, ...), so a slow spell of the machine falls on a pair of runs, not on one worker count."""
    pdir = work / "pipelines" / "cpu-set"
    names = pipelines.write_cpu_set(pdir, cfg.cpu_iterations)
    for spec in specs:
        if spec.is_floor:
            continue
        started: dict[int, procs.ServerProcess] = {}
        try:
            for workers in cfg.cpu_workers:
                if _unavailable(results, "cpu", [workers], spec):
                    continue
                server, _ = _start_or_fail(
                    results, "cpu", [workers], spec, work, f"cpu-w{workers}", pdir, names, workers
                )
                if server is not None:
                    started[workers] = server
            ready = {w: server for w, server in started.items() if _cpu_ready(cfg, spec, w, server, results)}
            for run in range(cfg.runs):
                for workers, server in list(ready.items()):
                    try:
                        res = run_load(server, "/cpu/run", pipelines.CPU_BODY, cfg.cpu_connections, cfg.duration)
                    except LoadError as exc:
                        say(f"    ! {spec.label} cpu w={workers}: {exc}")
                        results.fail("cpu", workers, spec.key, str(exc))
                        del ready[workers]
                        continue
                    results.add("cpu", workers, spec.key, res.as_dict())
                    say(
                        f"    cpu-bound workers={workers} {spec.label:<10} run {run + 1}: {res.rps:7.1f} req/s  "
                        f"p50 {res.p50_ms:7.1f} ms  p99 {res.p99_ms:7.1f} ms  cpu {res.cpu_ms_per_req:6.1f} ms/req  "
                        f"(server used {res.rps * res.cpu_ms_per_req / 10:.0f}% of a core)"
                    )
        finally:
            for server in started.values():
                server.stop()


def _cpu_ready(cfg: Config, spec: ServerSpec, workers: int, server: procs.ServerProcess, results: Results) -> bool:
    wait_idle(server, min_processes=workers, limit=30)
    problem = _check_run_route(server.port, "cpu", pipelines.CPU_BODY)
    if problem:
        say(f"    ! {spec.label} cpu: {problem}")
        results.fail("cpu", workers, spec.key, problem)
        return False
    warm_up(server, "/cpu/run", pipelines.CPU_BODY, cfg.cpu_connections, cfg.warmup)
    return True


# --------------------------------------------------------------------------- memory


def section_memory(cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    for workers in cfg.memory_workers:
        for spec in specs:
            if spec.is_floor:
                continue
            # A fresh dir per server and worker count: Hayhooks 2.1.0 rewrites every YAML file of the dir when it
            # starts, and with --workers 2 its two workers race on them (truncated files, seen in a full run).
            pdir = work / "pipelines" / f"memory-{cfg.memory_pipelines}-{spec.key}-w{workers}"
            names = pipelines.write_many(pdir, cfg.memory_pipelines)
            rewrite = functools.partial(pipelines.write_many, pdir, cfg.memory_pipelines)
            if _unavailable(results, "memory", [workers], spec):
                continue
            for run in range(cfg.runs):
                if run:
                    rewrite()  # whatever the last start did to the files, each start reads the same ones
                server, _ = _start_or_fail(
                    results, "memory", [workers], spec, work, f"mem-w{workers}", pdir, names, workers, rewrite
                )
                if server is None:
                    break
                try:
                    rss = wait_idle(server, min_processes=workers, limit=60)
                    processes = server.process_count()
                finally:
                    server.stop()
                results.add("memory", workers, spec.key, rss / 1024)
                say(
                    f"    memory {cfg.memory_pipelines} pipelines workers={workers} {spec.label:<10} run {run + 1}: "
                    f"{rss / 1024:7.1f} MiB in {processes} processes"
                )


SECTION_FUNCS = {
    "startup": section_startup,
    "run": section_run,
    "stream": section_stream,
    "deploy": section_deploy,
    "cpu": section_cpu,
    "memory": section_memory,
    "durable": section_durable,
}


def run_section(name: str, cfg: Config, specs: list[ServerSpec], work: Path, results: Results) -> None:
    """Run one section; an unexpected error is recorded instead of ending the whole benchmark."""
    try:
        SECTION_FUNCS[name](cfg, specs, work, results)
    except Exception as exc:  # noqa: BLE001 - the harness keeps going with the other sections
        say(f"    ! section {name} aborted: {exc}")
        say(traceback.format_exc())
        results.notes.append(f"section {name} aborted: {type(exc).__name__}: {exc}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
