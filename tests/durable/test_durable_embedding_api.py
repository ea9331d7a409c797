"""The embedding API without HTTP: import paths, configuration checks, and a deployment driven directly."""

from __future__ import annotations

import asyncio
import importlib
import math
from pathlib import Path

import pytest
from embedding_support import Answer, Approval, Job, async_runner, deployment_for, sync_runner
from pydantic import ValidationError

from hayhooks.durable import (
    DurableDeployment,
    DurableRuntime,
    ExecutionAdmissionError,
    ExecutionNotFoundError,
    IdempotencyConflictError,
    InvalidTransitionError,
    MemoryExecutionStore,
    RuntimeConfig,
    SQLiteExecutionStore,
    StoreConfig,
)

# What Hayhooks 2.1.0's public embedding API exports.
PUBLIC_NAMES = {
    "DurableContext",
    "DurableDeployment",
    "DurableExecutionCancelledError",
    "DurableRuntime",
    "ExecutionStore",
    "MemoryExecutionStore",
    "OwnerIdDependency",
    "RuntimeConfig",
    "StoreConfig",
    "create_durable_router",
    "current_durable_context",
    "durable_context_scope",
    "durable_streaming_callback",
}


def test_the_public_names_and_module_paths_import() -> None:
    import hayhooks.durable

    assert PUBLIC_NAMES <= set(hayhooks.durable.__all__)
    for name in hayhooks.durable.__all__:
        assert getattr(hayhooks.durable, name) is not None, name
    paths = {
        "hayhooks.durable.store": ["MemoryExecutionStore", "StoreConfig", "ExecutionStore", "CHUNK_CURSOR_START"],
        "hayhooks.durable.redis": ["RedisExecutionStore"],
        "hayhooks.durable.runtime": ["DurableDeployment", "DurableRuntime", "RuntimeConfig"],
        "hayhooks.durable.fastapi": ["create_durable_router", "OwnerIdDependency"],
        "hayhooks.durable.models": ["ExecutionKind", "CheckpointEnvelope", "decode_json", "encode_json"],
        "hayhooks.durable.engine": ["PayloadKind", "ExecutionStatus", "Claim"],
        "hayhooks.durable.context": ["DurableContext", "_ClaimedExecution"],
    }
    for module, names in paths.items():
        loaded = importlib.import_module(module)
        for name in names:
            assert hasattr(loaded, name), f"{module}.{name}"
    with pytest.raises(AttributeError):
        _ = hayhooks.durable.NoSuchName  # type: ignore[attr-defined]


def test_the_names_hayhooks_own_conftest_imports() -> None:
    from hayhooks.durable.context import DurableContext, _ClaimedExecution
    from hayhooks.durable.engine import Claim, PayloadKind
    from hayhooks.durable.models import CheckpointEnvelope, ExecutionKind, ExecutionRecord
    from hayhooks.durable.store import CHUNK_CURSOR_START, MemoryExecutionStore, StoreConfig

    assert [k.value for k in ExecutionKind] == ["pipeline", "agent"]
    assert [k.value for k in PayloadKind] == ["input", "checkpoint", "result", "error", "wait"]
    assert CHUNK_CURSOR_START == "0-0"
    record = ExecutionRecord("e1", "p", "r1", None, {"text": "x"}, state={"step": 2}, has_resume_input=True)
    record.resume_input, record.checkpoint = {"approved": True}, {"at": "b"}
    assert PayloadKind.INPUT.read(record) == {"text": "x"}
    envelope = CheckpointEnvelope.of(record)
    assert (envelope.application_state, envelope.adapter_checkpoint) == ({"step": 2}, {"at": "b"})
    assert envelope.resume_input == {"approved": True}
    with pytest.raises(ValidationError):
        CheckpointEnvelope(schema_version=2)
    claim = Claim("w", 1000, 30000, 3, "r1", b"{}")
    assert claim.lease_expires_at == 31000
    assert MemoryExecutionStore("p", config=StoreConfig()).deployment == "p"
    assert DurableContext is not None and _ClaimedExecution is not None


def test_the_command_names_of_2_1_0_import_and_say_they_perform_nothing() -> None:
    """Hayhooks' own tests import 2.1.0's command records (through its store contract module) at collection."""
    from hayhooks.durable import engine, store
    from hayhooks.durable.context import _ExecutionSuspendedError, _RetryRequestedError
    from hayhooks.durable.errors import IdempotencyConflictError, LeaseLostError, PayloadTooLargeError

    commands = "Checkpoint Complete Fail Heartbeat RecoverExpiredLease ReleaseClaim RequestCancellation Resume"
    for name in [*commands.split(), "ScheduleRetry", "Suspend", "TransitionPlan", "ExecutionControl"]:
        assert isinstance(getattr(engine, name), type), name
    assert engine.ExecutionLeaseLostError is LeaseLostError
    assert engine.ExecutionPayloadSizeError is PayloadTooLargeError
    assert engine.InvalidExecutionTransitionError is engine.InvalidTransitionError
    assert store.ExecutionIdempotencyConflictError is IdempotencyConflictError
    assert issubclass(store.ChunkCursorExpiredError, LookupError)
    assert _ExecutionSuspendedError is not None and _RetryRequestedError is not None
    control = engine.initial_control(
        run_id="run_1",
        idempotency_digest="i",
        idempotency_binding_digest="b",
        deployment="jobs",
        definition_revision="v1",
        owner_id=None,
        kind="pipeline",
        now_ms=5,
    )
    assert (control.status, control.available_at_ms, control.version) == (engine.ExecutionStatus.QUEUED, 5, 1)
    with pytest.raises(NotImplementedError, match="DurableEngine"):
        engine.decide(control, engine.RequestCancellation(6, "stop"))


def test_the_store_limits_of_2_1_0_s_contract_config_are_accepted() -> None:
    from hayhooks.durable.store import StoreConfig

    config = StoreConfig(lease_commit_safety_ms=10, max_payload_bytes=64, max_progress_event_bytes=32)
    assert (config.max_payload_bytes, config.max_progress_event_bytes) == (64, 32)


def test_encode_and_decode_json_are_bounded_and_strict() -> None:
    from hayhooks.durable.models import decode_json, encode_json

    assert encode_json({"b": 1, "a": "é"}, max_bytes=100, canonical=True) == '{"a":"é","b":1}'.encode()
    assert decode_json(b'{"a":[1,2]}', max_bytes=100) == {"a": [1, 2]}
    with pytest.raises(ValueError, match="over the limit"):
        encode_json("x" * 50, max_bytes=10)
    with pytest.raises(ValueError, match="over the limit"):
        decode_json(b'"' + b"x" * 50 + b'"', max_bytes=10)
    with pytest.raises(ValueError):
        encode_json(math.nan, max_bytes=100)
    with pytest.raises(ValueError):
        decode_json(b"[NaN]", max_bytes=100)
    with pytest.raises(ValueError):
        decode_json(b"\xff", max_bytes=100)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"worker_concurrency": 0}, "worker_concurrency"),
        ({"max_run_attempts": 0}, "max_run_attempts"),
        ({"max_application_retries": -1}, "max_application_retries"),
        ({"lease_duration_ms": 0}, "lease_duration_ms"),
        ({"poll_interval_seconds": 0}, "poll_interval_seconds"),
        ({"maintenance_interval_seconds": -1}, "maintenance_interval_seconds"),
        ({"shutdown_grace_seconds": -0.5}, "shutdown_grace_seconds"),
        ({"poll_interval_seconds": math.nan}, "poll_interval_seconds"),
        ({"retry_base_delay_seconds": 10, "retry_max_delay_seconds": 1}, "retry_max_delay_seconds"),
        ({"operational_backoff_min_seconds": 2, "operational_backoff_max_seconds": 1}, "operational_backoff"),
        ({"worker_concurrency": 1.5}, "worker_concurrency"),
    ],
)
def test_runtime_config_rejects_bad_values(values: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RuntimeConfig(**values)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"max_payload_bytes": 0}, "max_payload_bytes"),
        ({"lease_commit_safety_ms": -1}, "lease_commit_safety_ms"),
        ({"max_progress_events": 0}, "max_progress_events"),
        ({"max_stream_chunk_bytes": 0}, "max_stream_chunk_bytes"),
        ({"terminal_ttl_seconds": 0}, "terminal_ttl_seconds"),
        ({"stream_ttl_seconds": 0}, "stream_ttl_seconds"),
        ({"max_progress_event_bytes": 0}, "max_progress_event_bytes"),
        ({"max_nonterminal_executions": "many"}, "max_nonterminal_executions"),
    ],
)
def test_store_config_rejects_bad_values(values: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        StoreConfig(**values)


def test_configs_are_frozen_and_keep_the_defaults() -> None:
    assert RuntimeConfig() == RuntimeConfig(worker_concurrency=1, poll_interval_seconds=5.0, lease_duration_ms=30000)
    assert StoreConfig().max_payload_bytes == 1_000_000
    with pytest.raises(AttributeError):
        RuntimeConfig().worker_concurrency = 2  # type: ignore[misc]


def test_deployment_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="match its store"):
        DurableDeployment("a", "v1", MemoryExecutionStore("b"), Job, sync_runner)
    with pytest.raises(ValueError, match="revision"):
        DurableDeployment("a", " ", MemoryExecutionStore(), Job, sync_runner)
    with pytest.raises(TypeError, match="request_model"):
        DurableDeployment("a", "v1", MemoryExecutionStore(), dict, sync_runner)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="resume_model"):
        DurableDeployment("a", "v1", MemoryExecutionStore(), Job, sync_runner, resume_model=int)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DurableDeployment("a", "v1", MemoryExecutionStore(), Job, sync_runner, kind="robot")  # type: ignore[arg-type]
    agent = DurableDeployment("a", "v1", MemoryExecutionStore(), Job, async_runner, kind="agent")  # type: ignore[arg-type]
    assert (agent.spec.kind, agent.spec.is_async) == ("agent", True)
    first = deployment_for(MemoryExecutionStore())
    with pytest.raises(ValueError, match="more than once"):
        DurableRuntime([first, deployment_for(MemoryExecutionStore())])


async def _wait(deployment: DurableDeployment, run_id: str, statuses: set[str], **owner: object) -> str:
    for _ in range(400):
        record = await deployment.get(run_id, **owner)  # type: ignore[arg-type]
        if record.status in statuses:
            return record.status
        await asyncio.sleep(0.025)
    raise AssertionError(f"{run_id} never reached {statuses}")


@pytest.mark.parametrize("runner", [sync_runner, async_runner])
def test_a_deployment_driven_directly(runner: object, tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SQLiteExecutionStore(tmp_path / "direct.sqlite3", "summaries")
        deployment = deployment_for(store, runner)  # type: ignore[arg-type]
        runtime = DurableRuntime([deployment])
        assert (await runtime.health())["healthy"] is False
        with pytest.raises(ExecutionAdmissionError):
            await deployment.submit({"text": "early"})
        await runtime.start()
        await runtime.start()  # again while started: nothing happens
        assert (await runtime.health())["healthy"] is True

        submitted = await deployment.submit(Job(text="a", approve=True), owner_id="o1", idempotency_key="k")
        assert submitted.created and submitted.record.owner_id == "o1"
        replay = await deployment.submit({"text": "a", "approve": True}, owner_id="o1", idempotency_key="k")
        assert (replay.created, replay.execution_id) == (False, submitted.execution_id)
        with pytest.raises(IdempotencyConflictError):
            await deployment.submit({"text": "b"}, owner_id="o1", idempotency_key="k")
        with pytest.raises(ValidationError):
            await deployment.submit({"txt": "a"})

        run_id = submitted.execution_id
        assert await _wait(deployment, run_id, {"waiting"}, owner_id="o1") == "waiting"
        with pytest.raises(ExecutionNotFoundError):
            await deployment.get(run_id, owner_id="o2")
        with pytest.raises(ExecutionNotFoundError):
            await deployment.get(run_id)  # no owner given: the owner is still compared
        assert (await deployment.get(run_id, owner_id="o2", enforce_owner=False)).status == "waiting"
        with pytest.raises(ExecutionNotFoundError):
            await deployment.resume(run_id, {"approved": True}, owner_id="o2")
        with pytest.raises(ValidationError):
            await deployment.resume(run_id, {"approved": "perhaps?"}, owner_id="o1")
        resumed = await deployment.resume(run_id, Approval(approved=True, note="ok"), owner_id="o1")
        assert resumed.status == "queued"
        assert await _wait(deployment, run_id, {"completed"}, owner_id="o1") == "completed"
        result = (await deployment.get(run_id, owner_id="o1")).result
        assert Answer.model_validate(result) == Answer(text="A", attempt=2, approved=True, note="ok", owner="o1")
        with pytest.raises(InvalidTransitionError):
            await deployment.resume(run_id, {"approved": False}, owner_id="o1")

        held = await deployment.submit({"text": "h", "hold": 30})
        await _wait(deployment, held.execution_id, {"running"})
        await deployment.cancel(held.execution_id, reason="stop")
        assert await _wait(deployment, held.execution_id, {"canceled"}) == "canceled"

        health = await deployment.health()
        assert health["counts"]["completed"] == 1 and health["counts"]["canceled"] == 1  # type: ignore[index]
        await runtime.close()
        await runtime.wait_drained()
        assert deployment.accepting is False
        with pytest.raises(ExecutionAdmissionError):
            await deployment.submit({"text": "late"})
        with pytest.raises(RuntimeError, match="restarted"):
            await deployment.start()
        with pytest.raises(RuntimeError, match="restarted"):
            await runtime.start()
        store.close()

    asyncio.run(scenario())


def test_executions_outlive_the_deployment_that_accepted_them(tmp_path: Path) -> None:
    """A queued execution written by one deployment instance is run by the next one on the same file."""
    path = tmp_path / "handover.sqlite3"

    async def submit_then_close() -> str:
        deployment = deployment_for(SQLiteExecutionStore(path, "summaries"))
        await deployment.start()
        await deployment.engine.stop()  # workers gone: the execution stays queued in the file
        run_id = (await deployment.submit({"text": "later"})).execution_id
        await deployment.quiesce()
        with pytest.raises(ExecutionAdmissionError):
            await deployment.submit({"text": "refused"})
        await deployment.close()
        return run_id

    run_id = asyncio.run(submit_then_close())

    async def next_instance() -> None:
        deployment = deployment_for(SQLiteExecutionStore(path, "summaries"))
        await deployment.start()
        assert await _wait(deployment, run_id, {"completed"}) == "completed"
        assert (await deployment.get(run_id)).result["text"] == "LATER"
        await deployment.close()

    asyncio.run(next_instance())
