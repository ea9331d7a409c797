#!/usr/bin/env python3
"""Benchmark: the reference Hayhooks release vs our server vs a bare uvicorn+Starlette floor.

    python3 bench/run.py                      # everything, medians of 3 runs (~15 minutes)
    python3 bench/run.py --quick              # everything, 1 short run each (a few minutes)
    python3 bench/run.py --smoke              # start each server once and check every route (~1 minute)
    python3 bench/run.py --only run,startup --runs 5
    python3 bench/run.py --servers ref,floor  # leave a server out
    python3 bench/run.py --only run --profile # also py-spy profiles of ours (under a minute more)

It installs what it needs first: the reference release into its own virtualenv (bench/.venv-ref,
never the project's environment) and wrk with apt-get. Our server is, in this order: --ours PATH or
$BENCH_OURS_HAYHOOKS; else <repo>/.venv/bin/hayhooks when that virtualenv imports hayhooks from this
repo's src/; else <repo>/.venv is created (if missing) and `pip install -e "<repo>[mcp]"` is run into
it, as README's first command does. The reference never goes into that virtualenv, nor ours into the
reference's. When our server is unavailable or fails, its cells are marked and the benchmark goes on.
The final tables are printed and written to bench/results/latest.md (unless --no-write, or --smoke).

--profile (or `--only profile`) adds a bounded step (at most about a minute) after the sections: our
server under wrk on POST /noop/run at c=16, then under 32 streams, sampled by py-spy (taken from our
virtualenv or PATH, pip-installed into our virtualenv when missing); summaries go next to the results
file as profile-<workload>.txt, raw stacks into raw/ beside them (bench/results/raw/ is git-ignored).

This is not a test: nothing here asserts a timing, and the test suite never runs it.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from harness import pipelines, procs, setup_env  # noqa: E402
from harness.machine import cpu_counters  # noqa: E402
from harness.profile import run_profiles  # noqa: E402
from harness.report import Report  # noqa: E402
from harness.servers import ServerSpec, describe_hayhooks  # noqa: E402
from harness.workloads import SECTIONS, Config, Results, run_section, say  # noqa: E402

REPO_DIR = BENCH_DIR.parent
REF_VENV = BENCH_DIR / ".venv-ref"
OURS_VENV = REPO_DIR / ".venv"  # README's first command creates it
RESULTS_FILE = BENCH_DIR / "results" / "latest.md"
PROFILE = "profile"  # the optional step, accepted by --only next to the sections


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the reference Hayhooks, our server and a bare floor app.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"sections: {', '.join(SECTIONS)} (and {PROFILE}, only when asked for)",
    )
    parser.add_argument("--quick", action="store_true", help="1 short run per measurement (a few minutes)")
    parser.add_argument("--smoke", action="store_true", help="only check that every server answers every route")
    parser.add_argument("--only", default="", help="comma-separated sections to run (default: all)")
    parser.add_argument("--runs", type=int, help="measured runs per data point (default 3, --quick 1)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 5, --quick 2; at most 5)")
    parser.add_argument("--servers", default="ref,ours,floor", help="which of ref,ours,floor to run")
    parser.add_argument(
        "--ours",
        default=os.environ.get("BENCH_OURS_HAYHOOKS") or None,
        help="our `hayhooks` script (default: $BENCH_OURS_HAYHOOKS, else <repo>/.venv/bin/hayhooks,"
        " set up when it does not import this repo's src/)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the sections, profile our server with py-spy under the no-op run and streaming loads"
        " (at most about a minute; writes profile-<workload>.txt next to --out)",
    )
    parser.add_argument("--out", default=str(RESULTS_FILE), help="markdown file for the tables")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help="before each section, wait up to this many seconds for other load on the machine to stop"
        " (default 30, --quick 10, 0 to not wait)",
    )
    parser.add_argument("--keep-work", action="store_true", help="keep the temporary work dir (server logs)")
    args = parser.parse_args(argv)
    unknown = {s for s in args.only.split(",") if s} - set(SECTIONS) - {PROFILE}
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}, {PROFILE}")
    if PROFILE in args.only.split(","):
        args.profile = True
    bad_servers = {s for s in args.servers.split(",") if s} - {"ref", "ours", "floor"}
    if bad_servers:
        parser.error(f"unknown server(s) {sorted(bad_servers)}")
    return args


def build_config(args: argparse.Namespace) -> Config:
    cfg = Config()
    if args.quick or args.smoke:
        cfg.runs = 1
        cfg.duration = 2
        cfg.stream_seconds = 2.0
        cfg.deploy_repeats = 3
        cfg.durable_executions = 100
    if args.runs is not None:
        cfg.runs = max(1, args.runs)
    if args.duration is not None:
        cfg.duration = min(5, max(1, args.duration))  # every load run stays bounded
    cfg.stream_seconds = min(float(cfg.duration), cfg.stream_seconds)
    return cfg


def our_hayhooks(args: argparse.Namespace) -> tuple[Path, str | None]:
    """Our `hayhooks` script, and why it is unavailable (None when it is usable)."""
    if args.ours:
        ours = Path(args.ours)
        setup_env.log(f"ours: {ours} (from --ours or $BENCH_OURS_HAYHOOKS)")
    else:
        try:
            ours = setup_env.ensure_project_venv(REPO_DIR, OURS_VENV, REF_VENV)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            setup_env.log(f"ours: could not set up {OURS_VENV}: {exc}")
            return OURS_VENV / "bin" / "hayhooks", f"not installed (could not set up {OURS_VENV}: {exc})"
    if not (ours.exists() and os.access(ours, os.X_OK)):
        return ours, f"not installed ({ours} missing)"
    return ours, None


def build_specs(args: argparse.Namespace, ref_hayhooks: Path) -> tuple[list[ServerSpec], ServerSpec | None]:
    """The servers to measure, and our server's spec (also set up when only --profile needs it)."""
    wanted = [s for s in args.servers.split(",") if s]
    ours_spec = None
    if "ours" in wanted or args.profile:
        ours, problem = our_hayhooks(args)
        if problem is None:
            origin = describe_hayhooks(ours)
            ours_spec = ServerSpec("ours", "ours", ours, origin=origin)
            if str(REF_VENV) in origin or str(REF_VENV.resolve()) in origin:
                ours_spec.available, ours_spec.reason = False, "resolves to the reference install"
        else:
            ours_spec = ServerSpec("ours", "ours", ours, available=False, reason=problem)
    if ours_spec is not None and ours_spec.available:
        setup_env.compile_bytecode(ours_spec.executable)
    if "ref" in wanted:
        setup_env.compile_bytecode(ref_hayhooks)
    specs = []
    if "ref" in wanted:
        specs.append(ServerSpec("ref", "reference", ref_hayhooks, origin=describe_hayhooks(ref_hayhooks)))
    if "ours" in wanted and ours_spec is not None:
        specs.append(ours_spec)
    if "floor" in wanted:
        specs.append(ServerSpec("floor", "floor", REF_VENV / "bin" / "python", origin="bench/floor_app.py"))
    return specs, ours_spec


def machine_line() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model or platform.machine()}), Linux {platform.release()}"


def own_cpu_seconds() -> float:
    """CPU used by this harness and every child it has reaped (servers with their workers, wrk)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def noise_line(before: list[int], own_before: float, load_before: str) -> str:
    """How busy the machine was with other work: this benchmark may share its machine."""
    after = cpu_counters()
    own = own_cpu_seconds() - own_before
    text = f"load average at start {load_before}"
    if before and after and len(before) > 7:
        delta = [a - b for a, b in zip(after, before, strict=False)]
        ticks = os.sysconf("SC_CLK_TCK")
        total = sum(delta[:8]) or 1
        busy = total - delta[3] - delta[4]
        foreign = max(0.0, busy - own * ticks)
        text += (
            f"; during the run, processes other than this benchmark's used {100 * foreign / total:.0f}% of the"
            f" machine's CPU time, and the hypervisor stole {100 * delta[7] / total:.0f}%"
        )
    return text


def wait_for_quiet(max_wait: float, threshold: float = 0.25) -> None:
    """Before a section, wait (bounded) until other processes leave most of the CPUs idle."""
    deadline = time.monotonic() + max_wait
    while True:
        before = cpu_counters()
        time.sleep(1.0)
        after = cpu_counters()
        if not before or not after:
            return
        delta = [a - b for a, b in zip(after, before, strict=False)]
        total = sum(delta[:8]) or 1
        busy = (total - delta[3] - delta[4]) / total
        if busy <= threshold:
            return
        if time.monotonic() >= deadline:
            say(f"    (machine still {100 * busy:.0f}% busy with other work: measuring anyway)")
            return
        say(f"    (machine {100 * busy:.0f}% busy with other work: waiting for it to calm down)")
        time.sleep(4.0)


def smoke(specs: list[ServerSpec], cfg: Config, work: Path) -> int:
    """Start each available server once with the run pipelines and hit every route once."""
    from harness.httpcalls import request
    from harness.loadgen import LoadError, run_load
    from harness.servers import ServerStartError, start
    from harness.streamclient import stream_once
    from harness.workloads import _check_run_route

    pdir = work / "pipelines" / "smoke"
    names = pipelines.write_run_set(pdir, cfg.cpu_iterations)
    failures = 0
    for spec in specs:
        if not spec.available:
            say(f"  {spec.label}: skipped, {spec.reason}")
            continue
        checks: list[tuple[str, str | None]] = []
        try:
            server, seconds = start(
                spec, work, "smoke", None if spec.is_floor else pdir, [] if spec.is_floor else names
            )
        except ServerStartError as exc:
            say(f"  {spec.label}: FAILED to start: {exc}")
            failures += 1
            continue
        checks.append((f"started in {seconds:.2f}s", None))
        try:
            for name in ["noop"] if spec.is_floor else list(pipelines.RUN_WORKLOADS):
                checks.append((f"POST /{name}/run", _check_run_route(server.port, name, pipelines.RUN_WORKLOADS[name])))
            try:
                chunks, first = stream_once(server.port, "stream")
                ok = chunks == pipelines.STREAM_CHUNKS and first is not None
                checks.append((f"stream: {chunks} chunks", None if ok else "wrong chunk count"))
            except Exception as exc:  # noqa: BLE001
                checks.append(("stream", f"{type(exc).__name__}: {exc}"))
            try:
                res = run_load(server, "/noop/run", pipelines.RUN_WORKLOADS["noop"], 4, 1)
                checks.append((f"wrk 1s: {res.rps:.0f} req/s, {res.cpu_ms_per_req:.3f} ms CPU/req", None))
            except LoadError as exc:
                checks.append(("wrk 1s", str(exc)))
            if not spec.is_floor:
                checks.append(("POST /cpu/run", _check_run_route(server.port, "cpu", pipelines.CPU_BODY)))
                payload = {
                    "name": "smoke_hot",
                    "files": {"pipeline_wrapper.py": pipelines.SYNC_WRAPPER},
                    "overwrite": False,
                    "save_files": False,
                }
                try:
                    reply = request(server.port, "POST", "/deploy_files", json.dumps(payload).encode())
                    checks.append(("POST /deploy_files", None if reply.status == 200 else f"HTTP {reply.status}"))
                    schema = request(server.port, "GET", "/openapi.json")
                    listed = schema.status == 200 and b"/smoke_hot/run" in schema.body
                    checks.append(("GET /openapi.json lists it", None if listed else f"HTTP {schema.status}"))
                except OSError as exc:
                    checks.append(("runtime deploy", str(exc)))
        finally:
            server.stop()
        for what, problem in checks:
            verdict = "ok  " if problem is None else "FAIL"
            say(f"  {spec.label:<10} {verdict} {what}{'' if problem is None else ': ' + problem}")
            failures += problem is not None
    say("smoke: " + ("all checks passed" if failures == 0 else f"{failures} check(s) failed"))
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cfg = build_config(args)
    started = time.monotonic()
    counters_before = cpu_counters()
    own_before = own_cpu_seconds()
    try:
        load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load_before = "?"

    try:
        setup_env.ensure_wrk()
        ref_hayhooks = setup_env.ensure_reference_venv(REF_VENV)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        say(f"setup failed: {exc}")
        return 2
    specs, ours_spec = build_specs(args, ref_hayhooks)
    cfg.cpu_iterations = pipelines.calibrate_burn(20.0)

    atexit.register(procs.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    say("servers:")
    shown = specs + ([ours_spec] if ours_spec is not None and ours_spec not in specs else [])
    for spec in shown:
        state = spec.origin if spec.available else f"UNAVAILABLE: {spec.reason}"
        say(f"  {spec.label:<10} {spec.executable}  [{state}]")
    say(f"CPU-bound wrapper: {cfg.cpu_iterations} loop iterations (~20 ms here)")

    work = Path(tempfile.mkdtemp(prefix="hayhooks-bench-"))
    say(f"work dir: {work}")
    try:
        if args.smoke:
            if args.profile:
                say("(--profile is not run with --smoke)")
            return smoke(specs, cfg, work)

        only = [s for s in args.only.split(",") if s]
        sections = [s for s in SECTIONS if not only or s in only]
        results = Results()
        quiet_wait = args.quiet_wait if args.quiet_wait is not None else (10.0 if args.quick else 30.0)
        for section in sections:
            say(f"== {section}")
            if quiet_wait > 0:
                wait_for_quiet(quiet_wait)
            run_section(section, cfg, specs, work, results)
        if args.profile and ours_spec is not None:
            say(f"== {PROFILE}")
            if quiet_wait > 0:
                wait_for_quiet(quiet_wait)
            out_dir = Path(args.out).parent  # by default bench/results, with raw/ in it git-ignored
            written = run_profiles(ours_spec, cfg.cpu_iterations, work, out_dir, out_dir / "raw", REF_VENV)
            if written:
                results.notes.append("py-spy profiles of ours: " + ", ".join(f"`{p.name}`" for p in written))
        if not sections:
            return 0

        labels = {spec.key: spec.label for spec in specs}
        mode = "quick" if args.quick else "full"
        header = "\n".join(
            [
                "# Benchmark results: reference Hayhooks vs ours vs floor",
                "",
                f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
                f"total time {time.monotonic() - started:.0f} s",
                f"- command: `python3 bench/run.py {' '.join(argv)}`".rstrip() + f" ({mode} mode, "
                f"{cfg.runs} run(s) per point, {cfg.duration} s per wrk run)",
                f"- machine: {machine_line()}",
                f"- noise: {noise_line(counters_before, own_before, load_before)}",
                *[
                    f"- {spec.label}: {spec.origin if spec.available else 'unavailable, ' + spec.reason}"
                    for spec in specs
                ],
                f"- sections: {', '.join(sections)}" + (f", {PROFILE}" if args.profile else ""),
                "- ratios: `ours vs ref` is ours / reference (lower is better unless marked);"
                " server CPU is utime+stime of every server process from /proc, per completed request",
                "",
            ]
        )
        text = Report(cfg, results, labels, sections).render(header)
        say("")
        say(text)
        if not args.no_write:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
            say(f"written to {out}")
        return 0
    finally:
        procs.stop_all()
        if args.keep_work:
            say(f"kept work dir {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
