"""Issue point 4 and the run contract: ``POST /{name}/run`` built from ``run_api`` / ``run_api_async``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_wrapper

HEADER = """\
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field

from hayhooks import BasePipelineWrapper, SSEStream
"""


@pytest.fixture
def serve(tmp_path: Path, app_client):
    """``with serve({"name": code, ...}, **settings) as client`` deploys wrappers from a fresh pipelines dir."""

    @contextlib.contextmanager
    def start(wrappers: dict[str, str], **settings) -> Iterator:
        pipelines = tmp_path / "pipelines"
        for name, code in wrappers.items():
            write_wrapper(pipelines, name, HEADER + code)
        with app_client(pipelines, **settings) as client:
            errors = client.get("/status").json()["errors"]
            assert not errors, errors
            yield client

    return start


def _request_schema(document: dict, name: str) -> dict:
    body = document["paths"][f"/{name}/run"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]


def _response_schema(document: dict, name: str) -> dict:
    ok = document["paths"][f"/{name}/run"]["post"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]


TYPED = """
class Address(BaseModel):
    city: str
    zip_code: int = Field(0, description="Postal code")


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(
        self,
        name: str,
        count: int,
        ratio: float,
        flag: bool,
        tags: list[str],
        scores: dict[str, float],
        address: Address,
        nick: Optional[str] = None,
        limit: int = 10,
        people: list[Address] | None = None,
    ) -> dict:
        return {
            "name": name, "count": count, "ratio": ratio, "flag": flag, "tags": tags, "scores": scores,
            "address_is_model": isinstance(address, Address), "city": address.city, "zip": address.zip_code,
            "nick": nick, "limit": limit, "people": [p.city for p in people] if people is not None else None,
        }
"""


def test_request_model_accepts_json_types_defaults_optional_and_models(serve) -> None:
    body = {
        "name": "n",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "tags": ["a", "b"],
        "scores": {"x": 1.5},
        "address": {"city": "Rome"},
    }
    with serve({"typed": TYPED}) as client:
        minimal = client.post("/typed/run", json=body)
        full = client.post(
            "/typed/run", json={**body, "nick": "nn", "limit": 2, "people": [{"city": "Oslo", "zip_code": 1}]}
        )
    assert minimal.status_code == 200, minimal.text
    assert minimal.json() == {
        "result": {
            "name": "n",
            "count": 3,
            "ratio": 0.5,
            "flag": True,
            "tags": ["a", "b"],
            "scores": {"x": 1.5},
            "address_is_model": True,
            "city": "Rome",
            "zip": 0,
            "nick": None,
            "limit": 10,
            "people": None,
        }
    }
    assert full.json()["result"] | {} == minimal.json()["result"] | {"nick": "nn", "limit": 2, "people": ["Oslo"]}


@pytest.mark.parametrize(
    ("change", "bad_loc", "error_type"),
    [
        ({"count": "many"}, ["body", "count"], "int_parsing"),
        ({"tags": "not-a-list"}, ["body", "tags"], "list_type"),
        ({"scores": {"x": "high"}}, ["body", "scores", "x"], "float_parsing"),
        ({"address": {"zip_code": 5}}, ["body", "address", "city"], "missing"),
        ({"address": None}, ["body", "address"], "model_type"),
        ({"people": [{"city": 1}]}, ["body", "people", 0, "city"], "string_type"),
    ],
)
def test_wrong_fields_are_422_naming_the_field(serve, change: dict, bad_loc: list, error_type: str) -> None:
    body = {
        "name": "n",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "tags": [],
        "scores": {},
        "address": {"city": "Rome"},
    }
    with serve({"typed": TYPED}) as client:
        response = client.post("/typed/run", json={**body, **change})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [(e["loc"], e["type"]) for e in errors] == [(bad_loc, error_type)]


def test_missing_fields_and_bad_json_are_422(serve) -> None:
    with serve({"typed": TYPED}) as client:
        missing = client.post("/typed/run", json={"name": "n"})
        not_json = client.post("/typed/run", content=b"{not json", headers={"content-type": "application/json"})
    assert missing.status_code == 422
    missing_locs = {tuple(e["loc"]) for e in missing.json()["detail"] if e["type"] == "missing"}
    assert missing_locs == {("body", f) for f in ("count", "ratio", "flag", "tags", "scores", "address")}
    assert not_json.status_code == 422
    assert not_json.json()["detail"][0]["type"] == "json_invalid"


def test_curl_style_bodies_sent_as_form_urlencoded(serve) -> None:
    """`curl -d '{...}'` labels JSON as form-urlencoded; real form fields work too. Both read the body once."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    with serve({"greet": GREET}) as client:
        as_json = client.post("/greet/run", content=b'{"name": "curl"}', headers=form, timeout=10)
        as_form = client.post("/greet/run", content=b"name=form+field", headers=form, timeout=10)
    assert as_json.status_code == 200 and as_json.json() == {"result": "Hello curl"}
    assert as_form.status_code == 200 and as_form.json() == {"result": "Hello form field"}


GREET = """
from hayhooks import BasePipelineWrapper


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, name: str) -> str:
        return f"Hello {name}"
"""


DOCUMENTED = '''
class Reply(BaseModel):
    text: str
    length: int


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, question: str, top_k: int = 3) -> Reply:
        """Answer a question.

        Args:
            question: The question to answer.
            top_k: How many documents to retrieve.
        """
        return Reply(text=question.upper(), length=len(question))
'''

REST_DOCUMENTED = '''
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    async def run_api_async(self, urls: list[str], depth: int = 1) -> dict[str, int]:
        """Crawl pages.

        :param urls: Pages to start from.
        :param depth: Links to follow from each page.
        """
        return {u: depth for u in urls}
'''


def test_docstrings_become_field_descriptions_and_return_annotation_the_response_model(serve) -> None:
    with serve({"google": DOCUMENTED, "rest": REST_DOCUMENTED}) as client:
        document = client.get("/openapi.json").json()
        reply = client.post("/google/run", json={"question": "why"})
        crawl = client.post("/rest/run", json={"urls": ["a", "b"]})

    google = _request_schema(document, "google")
    assert google["properties"]["question"]["description"] == "The question to answer."
    assert google["properties"]["top_k"]["description"] == "How many documents to retrieve."
    assert google["properties"]["top_k"]["default"] == 3
    assert google["required"] == ["question"]
    assert document["paths"]["/google/run"]["post"]["description"] == "Answer a question."
    rest = _request_schema(document, "rest")
    assert rest["properties"]["urls"]["description"] == "Pages to start from."
    assert rest["properties"]["urls"]["type"] == "array"
    assert rest["properties"]["depth"]["description"] == "Links to follow from each page."

    # Response models come from the return annotations.
    google_response = _response_schema(document, "google")
    assert google_response["required"] == ["result"]
    reply_ref = google_response["properties"]["result"]["$ref"]
    reply_schema = document["components"]["schemas"][reply_ref.rsplit("/", 1)[-1]]
    assert set(reply_schema["properties"]) == {"text", "length"}
    rest_result = _response_schema(document, "rest")["properties"]["result"]
    assert rest_result["type"] == "object" and rest_result["additionalProperties"] == {"type": "integer"}

    assert reply.json() == {"result": {"text": "WHY", "length": 3}}
    assert crawl.json() == {"result": {"a": 1, "b": 1}}


THREADS = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self) -> dict:
        current = threading.current_thread()
        return {"thread": current.name, "is_main": current is threading.main_thread()}
"""

ASYNC_THREAD = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    async def run_api_async(self) -> dict:
        current = threading.current_thread()
        return {"thread": current.name, "is_main": current is threading.main_thread()}
"""

BOTH = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, text: str) -> str:
        return "sync:" + text

    async def run_api_async(self, text: str) -> str:
        return "async:" + text
"""


def test_sync_run_api_runs_off_the_event_loop_and_async_is_awaited_and_preferred(serve) -> None:
    with serve({"sync": THREADS, "async": ASYNC_THREAD, "both": BOTH}) as client:
        sync_thread = client.post("/sync/run", json={}).json()["result"]
        loop_thread = client.post("/async/run", json={}).json()["result"]
        both = client.post("/both/run", json={"text": "x"})
    assert not sync_thread["is_main"]
    # run_api_async runs on the event loop's thread; run_api must not.
    assert sync_thread["thread"] != loop_thread["thread"]
    assert both.json() == {"result": "async:x"}


STREAMS = """
import asyncio

from starlette.responses import FileResponse


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, kind: str, count: int = 3):
        if kind == "plain":
            return (f"chunk{i} " for i in range(count))
        if kind == "sse":
            return SSEStream(iter([f"event{i}" for i in range(count)] + [{"done": True}]))
        if kind == "async-sse":
            async def events():
                for i in range(count):
                    await asyncio.sleep(0)
                    yield f"a{i}"
            return SSEStream(events())
        if kind == "async-plain":
            async def chunks():
                for i in range(count):
                    yield f"x{i}"
            return chunks()
        if kind == "file":
            return FileResponse(Path(__file__).parent / "data.csv", media_type="text/csv", filename="data.csv")
        return {"kind": kind}
"""


def _write_streams(tmp_path: Path) -> None:
    folder = write_wrapper(tmp_path / "pipelines", "streams", HEADER + STREAMS)
    (folder / "data.csv").write_text("a,b\n1,2\n")


def test_generator_streams_text_plain(serve) -> None:
    with serve({"streams": STREAMS}) as client:
        with client.stream("POST", "/streams/run", json={"kind": "plain", "count": 4}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/plain")
            text = "".join(response.iter_text())
        async_plain = client.post("/streams/run", json={"kind": "async-plain"})
    assert text == "chunk0 chunk1 chunk2 chunk3 "
    assert async_plain.headers["content-type"].startswith("text/plain")
    assert async_plain.text == "x0x1x2"


def test_sse_stream_sends_event_stream(serve) -> None:
    with serve({"streams": STREAMS}) as client:
        sync_events = client.post("/streams/run", json={"kind": "sse", "count": 2})
        async_events = client.post("/streams/run", json={"kind": "async-sse", "count": 2})
    assert sync_events.headers["content-type"].startswith("text/event-stream")
    assert sync_events.text == 'data: event0\n\ndata: event1\n\ndata: {"done": true}\n\n'
    assert async_events.headers["content-type"].startswith("text/event-stream")
    assert async_events.text == "data: a0\n\ndata: a1\n\n"


def test_returned_response_is_passed_through(tmp_path: Path, app_client) -> None:
    _write_streams(tmp_path)
    with app_client(tmp_path / "pipelines") as client:
        response = client.post("/streams/run", json={"kind": "file"})
        plain_json = client.post("/streams/run", json={"kind": "other"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="data.csv"' in response.headers["content-disposition"]
    assert response.content == b"a,b\n1,2\n"
    assert plain_json.json() == {"result": {"kind": "other"}}


UPLOADS = """
from fastapi import UploadFile


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, files: Optional[list[UploadFile]] = None, note: str = "", count: int = 1,
                label: Optional[str] = None, tags: list[str] = [], ids: Optional[list[int]] = None) -> dict:
        return {
            "files": [[f.filename, f.file.read().decode()] for f in files or []],
            "note": note, "count": count, "label": label, "tags": tags, "ids": ids,
        }
"""


def test_file_uploads_with_form_fields(serve) -> None:
    with serve({"upload": UPLOADS}) as client:
        response = client.post(
            "/upload/run",
            files=[("files", ("a.txt", b"alpha", "text/plain")), ("files", ("b.txt", b"beta", "text/plain"))],
            data={"note": "hello", "count": "2", "tags": '["x", "y"]'},
        )
        numeric_strings = client.post(
            "/upload/run", files=[("files", ("c.txt", b"c", "text/plain"))], data={"note": "42", "label": "7"}
        )
        repeated = client.post(
            "/upload/run",
            files=[("files", ("d.txt", b"d", "text/plain"))],
            data={"tags": ["1", "two"], "ids": ["1", "2"]},
        )
        single = client.post("/upload/run", files=[("files", ("e.txt", b"e", "text/plain"))], data={"tags": "solo"})
        no_files = client.post("/upload/run", json={"note": "json body"})
        bad_count = client.post("/upload/run", files=[("files", ("c.txt", b"c", "text/plain"))], data={"count": "x"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "result": {
            "files": [["a.txt", "alpha"], ["b.txt", "beta"]],
            "note": "hello",
            "count": 2,
            "label": None,
            "tags": ["x", "y"],
            "ids": None,
        }
    }
    # List fields may also be sent FastAPI style, repeating the field; a single plain value is a one-item list.
    assert repeated.status_code == 200, repeated.text
    assert repeated.json()["result"]["tags"] == ["1", "two"] and repeated.json()["result"]["ids"] == [1, 2]
    assert single.json()["result"]["tags"] == ["solo"]
    # String fields keep their text even when it looks like JSON.
    assert numeric_strings.status_code == 200, numeric_strings.text
    assert numeric_strings.json()["result"]["note"] == "42"
    assert numeric_strings.json()["result"]["label"] == "7"
    assert no_files.json()["result"]["files"] == [] and no_files.json()["result"]["note"] == "json body"
    assert bad_count.status_code == 422
    assert bad_count.json()["detail"][0]["loc"] == ["body", "count"]


def test_upload_route_is_documented_as_multipart(serve) -> None:
    with serve({"upload": UPLOADS}) as client:
        document = client.get("/openapi.json").json()
    content = document["paths"]["/upload/run"]["post"]["requestBody"]["content"]
    schema = content["multipart/form-data"]["schema"]
    assert schema["properties"]["files"]["items"]["format"] == "binary"
    assert "note" in schema["properties"]


FAILING = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self, text: str) -> str:
        raise ValueError("the pipeline broke on " + text)
"""


@pytest.mark.parametrize("show_tracebacks", [False, True])
def test_exception_is_500_with_message_and_traceback_only_when_enabled(serve, show_tracebacks: bool) -> None:
    with serve({"failing": FAILING}, show_tracebacks=show_tracebacks) as client:
        response = client.post("/failing/run", json={"text": "purpose"})
    assert response.status_code == 500
    body = response.json()
    assert list(body) == ["detail"]
    assert "the pipeline broke on purpose" in body["detail"]
    assert ("Traceback" in body["detail"]) is show_tracebacks
    assert ("pipeline_wrapper.py" in body["detail"]) is show_tracebacks


NO_RUN_API = """
class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_chat_completion(self, model, messages, body):
        return "chat only"
"""


def test_unknown_pipeline_is_404(serve) -> None:
    with serve({"chat_only": NO_RUN_API}) as client:
        unknown = client.post("/nope/run", json={})
        chat_only = client.post("/chat_only/run", json={})
        document = client.get("/openapi.json").json()
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["detail"]
    assert chat_only.status_code == 404
    assert "/chat_only/run" not in document["paths"]


def test_results_of_haystack_types_are_json(serve) -> None:
    code = """
from haystack import Document


class PipelineWrapper(BasePipelineWrapper):
    def setup(self) -> None:
        pass

    def run_api(self) -> dict:
        return {"documents": [Document(content="x", id="1")], "path": Path("/a/b")}
"""
    with serve({"haystack_types": code}) as client:  # not "docs": reserved for the server's own /docs
        response = client.post("/haystack_types/run", json={})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["documents"][0]["content"] == "x" and result["documents"][0]["id"] == "1"
    assert result["path"] == "/a/b"
    json.dumps(result)
