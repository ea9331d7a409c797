"""get_request_context(): a wrapper sees the caller's headers and key identity, never the key itself."""

from __future__ import annotations

from pathlib import Path

from conftest import write_wrapper
from hardening_support import CONTEXT_ASYNC, CONTEXT_SYNC, INVOKE_KEY, bearer

from hayhooks import RequestContext, get_request_context


def test_sync_and_async_wrappers_see_headers_key_identity_and_request_id(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "sync_ctx", CONTEXT_SYNC)
    write_wrapper(pipelines, "async_ctx", CONTEXT_ASYNC)
    with app_client(pipelines, api_keys=[INVOKE_KEY, "second-key-0123456789abcdef"]) as client:
        headers = {**bearer(INVOKE_KEY), "X-Custom": "tenant-7", "X-Request-ID": "req-1"}
        sync = client.post("/sync_ctx/run", json={"text": "s"}, headers=headers).json()["result"]
        assert sync == {
            "text": "s",
            "key_id": "invoke#1",
            "request_id": "req-1",
            "custom": "tenant-7",
            "has_authorization": True,
        }
        headers = {"X-API-Key": "second-key-0123456789abcdef", "X-Custom": "tenant-8"}
        response = client.post("/async_ctx/run", json={"text": "a"}, headers=headers)
        result = response.json()["result"]
        assert result["key_id"] == "invoke#2" and result["custom"] == "tenant-8"
        assert result["request_id"] == response.headers["x-request-id"]
        assert INVOKE_KEY not in str(result)


def test_without_keys_the_identity_is_none_and_outside_requests_there_is_no_context(app_client, tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    write_wrapper(pipelines, "sync_ctx", CONTEXT_SYNC)
    with app_client(pipelines) as client:
        result = client.post("/sync_ctx/run", json={"text": "s"}, headers={"X-Custom": "c"}).json()["result"]
        assert result["key_id"] is None and result["custom"] == "c"
    assert get_request_context() is None
    assert RequestContext.__name__ == "RequestContext"
