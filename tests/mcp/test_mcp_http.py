"""``hayhooks mcp run`` over HTTP: Streamable HTTP at /mcp (2026 and handshake-era clients), SSE at /sse."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError
from mcp_support import (
    CORE_TOOLS,
    NOT_TOOLS,
    PIPELINE_TOOLS,
    UPPER,
    ListChangedRecorder,
    json_of,
    make_pipelines_dir,
    start_mcp_server,
    text_of,
    tool_map,
    wrapper_files,
)


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mcp-http")
    server = start_mcp_server(make_pipelines_dir(root), root)
    yield server.url
    server.stop()


def test_status_endpoint_answers_ok(mcp_url: str) -> None:
    response = httpx.get(f"{mcp_url}/status", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_foreign_host_header_is_refused_on_a_loopback_bind(mcp_url: str) -> None:
    response = httpx.post(
        f"{mcp_url}/mcp", json={}, headers={"Host": "attacker.example", "Accept": "application/json"}, timeout=10
    )
    assert response.status_code == 421


async def test_tools_list_pipelines_and_core_tools(mcp_url: str) -> None:
    async with Client(f"{mcp_url}/mcp") as client:
        tools = tool_map(await client.list_tools())

    assert set(tools) == CORE_TOOLS | PIPELINE_TOOLS
    assert not NOT_TOOLS & set(tools)

    upper = tools["upper"]
    assert upper.description == "Uppercase a text with a Haystack pipeline."
    schema = upper.input_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"]["type"] == "string"
    assert schema["properties"]["text"]["description"] == "The text to uppercase."
    assert schema["properties"]["repeat"]["default"] == 1
    assert schema["properties"]["repeat"]["description"] == "How many times to repeat the result."

    shopping = tools["shopping"].input_schema
    assert "$defs" not in shopping and "$ref" not in str(shopping)  # nested models are inlined
    item = shopping["properties"]["items"]["items"]
    assert item["properties"]["name"]["description"] == "What to buy"
    assert shopping["required"] == ["items"]

    yaml_tool = tools["yaml_upper"]
    assert yaml_tool.description == "Uppercase a text (YAML pipeline)."
    assert yaml_tool.input_schema["required"] == ["text"]

    deploy = tools["deploy_pipeline"].input_schema
    assert deploy["required"] == ["name", "files"]  # save_files and overwrite are optional
    assert set(deploy["properties"]) == {"name", "files", "save_files", "overwrite"}
    assert deploy["properties"]["files"]["items"]["required"] == ["name", "content"]
    assert tools["get_all_pipeline_statuses"].input_schema.get("required", []) == []
    assert tools["get_pipeline_status"].input_schema["required"] == ["pipeline_name"]
    assert tools["get_all_pipeline_statuses"].annotations.read_only_hint is True


async def test_call_pipeline_tools(mcp_url: str) -> None:
    async with Client(f"{mcp_url}/mcp") as client:
        upper = await client.call_tool("upper", {"text": "hello", "repeat": 2})
        shopping = await client.call_tool("shopping", {"items": [{"name": "milk", "quantity": 2}, {"name": "eggs"}]})
        yaml_result = await client.call_tool("yaml_upper", {"text": "yaml"})

    assert not upper.is_error and text_of(upper) == "HELLOHELLO"
    assert json_of(shopping) == {"names": "MILK, EGGS", "total": 3, "note": None}
    assert shopping.structured_content == {"names": "MILK, EGGS", "total": 3, "note": None}
    assert json_of(yaml_result) == {"upper": {"text": "YAML"}}


async def test_invalid_arguments_name_the_field(mcp_url: str) -> None:
    async with Client(f"{mcp_url}/mcp") as client:
        missing = await client.call_tool("upper", {})
        wrong_type = await client.call_tool("upper", {"text": "x", "repeat": "many"})
        nested = await client.call_tool("shopping", {"items": [{"quantity": 1}]})
        core = await client.call_tool("get_pipeline_status", {})

    assert missing.is_error and "text" in text_of(missing) and "required" in text_of(missing).lower()
    assert wrong_type.is_error and "repeat" in text_of(wrong_type)
    assert nested.is_error and "items.0.name" in text_of(nested)
    assert core.is_error and "pipeline_name" in text_of(core)


async def test_failing_pipeline_returns_an_error_result_without_traceback(mcp_url: str) -> None:
    async with Client(f"{mcp_url}/mcp") as client:
        result = await client.call_tool("broken", {"text": "x"})
        still_serving = await client.call_tool("upper", {"text": "ok"})

    assert result.is_error
    assert "boom: the pipeline exploded" in text_of(result)
    assert "Traceback" not in text_of(result)
    assert text_of(still_serving) == "OK"


async def test_unknown_and_hidden_tools_are_protocol_errors(mcp_url: str) -> None:
    async with Client(f"{mcp_url}/mcp") as client:
        for name in ("no_such_tool", "hidden", "chat_only"):
            with pytest.raises(MCPError, match="Unknown tool"):
                await client.call_tool(name, {"text": "x"})


async def test_status_core_tools(mcp_url: str) -> None:
    async with Client(f"{mcp_url}/mcp") as client:
        statuses = json_of(await client.call_tool("get_all_pipeline_statuses"))
        one = json_of(await client.call_tool("get_pipeline_status", {"pipeline_name": "upper"}))
        missing = await client.call_tool("get_pipeline_status", {"pipeline_name": "nope"})

    assert PIPELINE_TOOLS | NOT_TOOLS <= set(statuses["pipelines"])
    assert one["pipeline"] == "upper" and one["kind"] == "wrapper"
    assert missing.is_error and "not found" in text_of(missing)


async def test_deploy_and_undeploy_notify_listening_clients(mcp_url: str) -> None:
    """A 2026-07-28 client learns of changes through `subscriptions/listen`."""
    async with Client(f"{mcp_url}/mcp") as client, client.listen(tools_list_changed=True) as changes:
        deployed = await client.call_tool(
            "deploy_pipeline", {"name": "fresh_modern", "files": wrapper_files(UPPER), "save_files": False}
        )
        assert json_of(deployed) == {"name": "fresh_modern", "success": True, "endpoint": "/fresh_modern/run"}
        with anyio.fail_after(30):
            await changes.__anext__()
        assert "fresh_modern" in tool_map(await client.list_tools())
        assert text_of(await client.call_tool("fresh_modern", {"text": "new"})) == "NEW"

        taken = await client.call_tool("deploy_pipeline", {"name": "fresh_modern", "files": wrapper_files(UPPER)})
        assert taken.is_error and "overwrite" in text_of(taken)

        undeployed = await client.call_tool("undeploy_pipeline", {"pipeline_name": "fresh_modern"})
        assert json_of(undeployed) == {"success": True, "name": "fresh_modern"}
        with anyio.fail_after(30):
            await changes.__anext__()
        assert "fresh_modern" not in tool_map(await client.list_tools())

        missing = await client.call_tool("undeploy_pipeline", {"pipeline_name": "fresh_modern"})
        assert missing.is_error and "not found" in text_of(missing)


async def test_handshake_era_clients_get_list_changed_over_streamable_http_and_sse(mcp_url: str) -> None:
    http_changes, sse_changes = ListChangedRecorder(), ListChangedRecorder()
    async with (
        Client(f"{mcp_url}/mcp", mode="legacy", message_handler=http_changes) as http_client,
        Client(sse_client(f"{mcp_url}/sse"), mode="legacy", message_handler=sse_changes) as sse_client_,
        Client(f"{mcp_url}/mcp") as deployer,
    ):
        assert http_client.session.initialize_result.capabilities.tools.list_changed is True
        assert sse_client_.session.initialize_result.capabilities.tools.list_changed is True
        assert text_of(await sse_client_.call_tool("upper", {"text": "sse"})) == "SSE"

        result = await deployer.call_tool(
            "deploy_pipeline", {"name": "fresh_legacy", "files": wrapper_files(UPPER), "save_files": False}
        )
        assert not result.is_error, text_of(result)
        await http_changes.wait()
        await sse_changes.wait()
        assert "fresh_legacy" in tool_map(await sse_client_.list_tools())
        assert text_of(await http_client.call_tool("fresh_legacy", {"text": "legacy"})) == "LEGACY"

        assert not (await deployer.call_tool("undeploy_pipeline", {"pipeline_name": "fresh_legacy"})).is_error
        await http_changes.wait()
        await sse_changes.wait()
        assert "fresh_legacy" not in tool_map(await http_client.list_tools())


async def test_sse_client_with_default_negotiation_calls_tools(mcp_url: str) -> None:
    async with Client(sse_client(f"{mcp_url}/sse")) as client:
        tools = tool_map(await client.list_tools())
        result = await client.call_tool("yaml_upper", {"text": "sse"})
    assert PIPELINE_TOOLS <= set(tools)
    assert json_of(result) == {"upper": {"text": "SSE"}}
