"""Turning the raw per-run values into the results tables (markdown) and the target checks."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .workloads import Config, Results, median

SERVER_KEYS = ("ref", "ours", "floor")
TARGET_CONCURRENCY = 16  # the reference figures are "medians, c=16": the CPU targets apply there
INFO = "info"  # status of a row listed for information, not counted as a target


def _num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "–"
    return f"{value:.2f}x"


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return None
    return a / b


class Table:
    def __init__(self, headers: list[str]):
        self.headers = headers
        self.rows: list[list[str]] = []

    def add(self, *cells: str) -> None:
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

        def line(cells):
            return "| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)) + " |"

        out = [line(self.headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(row) for row in self.rows]
        return "\n".join(out)


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    status: str  # "met", "NOT MET", "n/a (...)" or INFO (listed for information, not a target)


class Report:
    def __init__(self, cfg: Config, results: Results, labels: dict[str, str], sections: list[str]):
        self.cfg = cfg
        self.sections = set(sections)
        self.results = results
        self.labels = labels
        self.targets: list[Target] = []

    # ------------------------------------------------------------------ helpers

    def _values(self, section, key, server, field=None) -> list[float]:
        raw = self.results.get(section, key, server)
        return [entry[field] for entry in raw] if field else list(raw)

    def _med(self, section, key, server, field=None) -> float | None:
        values = self._values(section, key, server, field)
        return median(values) if values else None

    def _cell(self, section, key, server, field=None, digits=2) -> str:
        value = self._med(section, key, server, field)
        if value is not None:
            return _num(value, digits)
        failure = self.results.failure(section, key, server)
        if failure is not None:
            return "not installed" if "not installed" in failure else "FAILED"
        return "–"

    def _missing_reason(self, section, key, servers) -> str:
        for server in servers:
            failure = self.results.failure(section, key, server)
            if failure:
                return f"n/a ({self.labels.get(server, server)}: {failure[:60]})"
        return "n/a (not measured)"

    def _target(self, name, goal, value, ok, section, key, servers) -> None:
        if value is None:
            self.targets.append(Target(name, goal, "–", self._missing_reason(section, key, servers)))
            return
        self.targets.append(Target(name, goal, _ratio(value), "met" if ok(value) else "NOT MET"))

    # ------------------------------------------------------------------ measurement table

    def measurements(self) -> str:
        cfg = self.cfg
        table = Table(["workload", "metric", "reference", "ours", "floor", "ours vs ref"])

        def row(
            workload, metric, section, key, field=None, digits=2, floor=False, higher_is_better=False, compare=True
        ):
            ref = self._med(section, key, "ref", field)
            ours = self._med(section, key, "ours", field)
            ratio = _div(ours, ref) if compare else None
            text = _ratio(ratio) if ratio is not None else "–"
            if ratio is not None:
                text += " (higher is better)" if higher_is_better else ""
            table.add(
                workload,
                metric,
                self._cell(section, key, "ref", field, digits),
                self._cell(section, key, "ours", field, digits),
                self._cell(section, key, "floor", field, digits) if floor else "",
                text,
            )

        on = self.sections
        for count in cfg.startup_counts if "startup" in on else ():
            row(
                f"startup, {count} pipelines",
                "s until /status lists all",
                "startup",
                count,
                digits=3,
                floor=(count == 0),
            )
        for name in ("noop", "sync", "async", "yaml") if "run" in on else ():
            for conc in cfg.concurrencies:
                key = (name, conc)
                floor = name == "noop"
                label = f"run {name}, c={conc}"
                row(label, "req/s", "run", key, "rps", 0, floor, higher_is_better=True)
                row(label, "p50 ms", "run", key, "p50_ms", 2, floor)
                row(label, "p99 ms", "run", key, "p99_ms", 2, floor)
                row(label, "server CPU ms/req", "run", key, "cpu_ms_per_req", 3, floor)
        for clients in cfg.stream_clients if "stream" in on else ():
            label = f"stream 200 chunks, {clients} client{'s' if clients > 1 else ''}"
            row(label, "chunks/s", "stream", clients, "chunks_per_s", 0, True, higher_is_better=True)
            row(label, "first chunk p50 ms", "stream", clients, "ttfc_p50_ms", 2, True)
            row(label, "first chunk p99 ms", "stream", clients, "ttfc_p99_ms", 2, True)
            row(label, "server CPU us/chunk", "stream", clients, "cpu_us_per_chunk", 1, True)
            row(label, "client busy % of a core", "stream", clients, "client_busy_pct", 0, True, compare=False)
            row(label, "hypervisor steal % of CPU time", "stream", clients, "steal_pct", 1, True, compare=False)
        for preloaded in cfg.deploy_preloaded if "deploy" in on else ():
            label = f"deploy, {preloaded} already deployed"
            row(label, "POST /deploy_files ms", "deploy", preloaded, "deploy_ms", 1)
            row(label, "first GET /openapi.json ms", "deploy", preloaded, "openapi_ms", 1)
        for workers in cfg.cpu_workers if "cpu" in on else ():
            label = f"CPU-bound ~20 ms, c={cfg.cpu_connections}, --workers {workers}"
            row(label, "req/s", "cpu", workers, "rps", 1, higher_is_better=True)
            row(label, "p99 ms", "cpu", workers, "p99_ms", 1)
            row(label, "server CPU ms/req", "cpu", workers, "cpu_ms_per_req", 1)
        if "cpu" in on and 1 in cfg.cpu_workers and 2 in cfg.cpu_workers:
            cells = []
            for server in ("ref", "ours"):
                scaling = self._cpu_scaling(server)
                cells.append(_ratio(scaling) if scaling is not None else self._cell("cpu", 2, server, "rps"))
            table.add("CPU-bound, --workers 2 vs 1", "worst paired run (2 / 1 workers)", cells[0], cells[1], "", "")
        for workers in cfg.memory_workers if "memory" in on else ():
            row(
                f"memory, {cfg.memory_pipelines} pipelines, --workers {workers}",
                "RSS MiB (all processes)",
                "memory",
                workers,
                None,
                1,
            )
        for store in ("memory", "redis", "sqlite") if "durable" in on else ():
            label = f"durable, {store} store, {cfg.durable_executions} executions"
            row(label, "completed executions/s", "durable", store, "eps", 1, higher_is_better=True)
            row(label, "submit-to-completed p50 ms", "durable", store, "p50_ms", 1)
            row(label, "submit-to-completed p99 ms", "durable", store, "p99_ms", 1)
        return table.markdown()

    def _cpu_scaling(self, server: str) -> float | None:
        """The worst pair: each --workers 2 run over the --workers 1 run made just before it (the section
        interleaves them, so the machine's slow spells fall on both sides of a pair)."""
        single, double = self._values("cpu", 1, server, "rps"), self._values("cpu", 2, server, "rps")
        pairs = list(zip(single, double, strict=False))  # a failed run ends a list early
        if not pairs:
            return None
        return min(double / single for single, double in pairs)

    # ------------------------------------------------------------------ targets

    def evaluate_targets(self) -> None:
        cfg = self.cfg
        on = self.sections
        run_factors = {"noop": 5.0, "sync": 3.0, "yaml": 3.0, "async": 1.5}
        # The issue states the CPU targets against reference figures taken at c=16: they are evaluated there;
        # the ratios at the other concurrencies are listed after them, as information only.
        info: list[tuple] = []
        for name in ("noop", "sync", "async", "yaml") if "run" in on else ():
            for conc in (TARGET_CONCURRENCY, *[c for c in cfg.concurrencies if c != TARGET_CONCURRENCY]):
                counted = conc == TARGET_CONCURRENCY
                if not counted and conc not in cfg.concurrencies:
                    continue
                key = (name, conc)
                ref = self._med("run", key, "ref", "cpu_ms_per_req")
                ours = self._med("run", key, "ours", "cpu_ms_per_req")
                factor = run_factors[name]
                checks = [
                    (
                        f"server CPU/request, {name}, c={conc}: reference / ours",
                        f"≥ {factor:g}x",
                        _div(ref, ours),
                        lambda v, f=factor: v >= f,
                        ("ours", "ref"),
                    )
                ]
                if name == "noop":
                    floor = self._med("run", key, "floor", "cpu_ms_per_req")
                    checks.append(
                        (
                            f"server CPU/request, noop, c={conc}: ours / floor app",
                            "≤ 2x",
                            _div(ours, floor),
                            lambda v: v <= 2.0,
                            ("ours", "floor"),
                        )
                    )
                for label, goal, value, ok, servers in checks:
                    if counted:
                        self._target(label, goal, value, ok, "run", key, servers)
                    else:
                        info.append((label, f"({goal} at c={TARGET_CONCURRENCY})", value))
        if "run" in on and 64 in cfg.concurrencies:
            for name in ("noop", "sync", "async", "yaml"):
                key = (name, 64)
                self._target(
                    f"p99 latency, {name}, c=64: ours / reference",
                    "≤ 0.5x",
                    _div(self._med("run", key, "ours", "p99_ms"), self._med("run", key, "ref", "p99_ms")),
                    lambda v: v <= 0.5,
                    "run",
                    key,
                    ("ours", "ref"),
                )
        for label, goal, value in info:
            self.targets.append(Target(f"{label} (info)", goal, _ratio(value) if value is not None else "–", INFO))
        for clients in cfg.stream_clients if "stream" in on else ():
            self._target(
                f"streaming chunks/s, {clients} client(s): ours / reference",
                "≥ 5x",
                _div(
                    self._med("stream", clients, "ours", "chunks_per_s"),
                    self._med("stream", clients, "ref", "chunks_per_s"),
                ),
                lambda v: v >= 5.0,
                "stream",
                clients,
                ("ours", "ref"),
            )
        for clients in cfg.stream_clients if "stream" in on else ():
            self._target(
                f"time to first chunk p99, {clients} client(s): ours / reference",
                "≤ 0.5x",
                _div(
                    self._med("stream", clients, "ours", "ttfc_p99_ms"),
                    self._med("stream", clients, "ref", "ttfc_p99_ms"),
                ),
                lambda v: v <= 0.5,
                "stream",
                clients,
                ("ours", "ref"),
            )
        for count, factor in ((0, 0.6), (100, 0.5)):
            if "startup" in on and count in cfg.startup_counts:
                self._target(
                    f"startup, {count} pipelines: ours / reference",
                    f"≤ {factor:g}x",
                    _div(self._med("startup", count, "ours"), self._med("startup", count, "ref")),
                    lambda v, f=factor: v <= f,
                    "startup",
                    count,
                    ("ours", "ref"),
                )
        if "deploy" in on and 0 in cfg.deploy_preloaded and 100 in cfg.deploy_preloaded:
            for field, label in (
                ("deploy_ms", "POST /deploy_files latency"),
                ("openapi_ms", "first GET /openapi.json after a deploy"),
            ):
                empty = self._med("deploy", 0, "ours", field)
                full = self._med("deploy", 100, "ours", field)
                ratio = _div(full, empty)
                # "The same": within 1.5x, or within 5 ms for timings too small to compare as ratios.
                same = ratio is not None and (ratio <= 1.5 or (full - empty) <= 5.0)
                self._target(
                    f"{label}, ours: 100 deployed / 0 deployed",
                    "same (≤ 1.5x or +5 ms)",
                    ratio,
                    lambda v, s=same: s,
                    "deploy",
                    100 if empty is not None else 0,
                    ("ours",),
                )
        if "cpu" in on and 1 in cfg.cpu_workers and 2 in cfg.cpu_workers:
            self._target(
                "CPU-bound keep-alive, ours: --workers 2 / --workers 1, worst run",
                "≥ 1.8x",
                self._cpu_scaling("ours"),
                lambda v: v >= 1.8,
                "cpu",
                2,
                ("ours",),
            )
        if "memory" in on and 2 in cfg.memory_workers:
            self._target(
                f"RSS, {cfg.memory_pipelines} pipelines, --workers 2: ours / reference",
                "≤ 1x",
                _div(self._med("memory", 2, "ours"), self._med("memory", 2, "ref")),
                lambda v: v <= 1.0,
                "memory",
                2,
                ("ours", "ref"),
            )

        for store in ("memory", "redis") if "durable" in on else ():
            eps = _div(self._med("durable", store, "ours", "eps"), self._med("durable", store, "ref", "eps"))
            self._target(
                f"durable, {store} store: completed executions/s, ours / reference",
                "≥ 3x",
                eps,
                lambda v: v >= 3.0,
                "durable",
                store,
                ("ours", "ref"),
            )
            p99 = _div(self._med("durable", store, "ours", "p99_ms"), self._med("durable", store, "ref", "p99_ms"))
            self._target(
                f"durable, {store} store: submit-to-completed p99, ours / reference",
                "≤ 0.5x",
                p99,
                lambda v: v <= 0.5,
                "durable",
                store,
                ("ours", "ref"),
            )

    def targets_table(self) -> str:
        table = Table(["target", "goal", "measured", "status"])
        for target in self.targets:
            table.add(target.name, target.goal, target.measured, target.status)
        return table.markdown()

    def render(self, header: str) -> str:
        self.evaluate_targets()
        met = sum(1 for t in self.targets if t.status == "met")
        not_met = sum(1 for t in self.targets if t.status == "NOT MET")
        info = sum(1 for t in self.targets if t.status == INFO)
        missing = len(self.targets) - met - not_met - info
        parts = [
            header,
            "## Targets",
            "",
            f"{met} met, {not_met} not met, {missing} not measured"
            + (f" ({info} rows marked `info` are listed for information and not counted)." if info else "."),
            "",
            self.targets_table(),
            "",
            "## Measurements (medians over runs)",
            "",
            self.measurements(),
        ]
        if self.results.notes:
            parts += ["", "## Notes", ""] + [f"- {note}" for note in self.results.notes]
        return "\n".join(parts) + "\n"
