"""Durable document preparation with a human approval step (offline: no API key, no model download).

Submit documents; the job cleans them, waits for a reviewer to approve (``POST .../resume``), then splits
them into chunks with a Haystack pipeline. It survives restarts and crashes: a run that stops after the
checkpoint before ``split`` continues from there on any worker. See ``docs/durable-runs.md``.
"""

from haystack import Document, Pipeline
from haystack.components.preprocessors import DocumentCleaner, DocumentSplitter
from pydantic import BaseModel, Field

from hayhooks import BasePipelineWrapper, DurableContext


class SourceDocument(BaseModel):
    id: str = Field(min_length=1, max_length=128, description="Your id for the document")
    text: str = Field(min_length=1, max_length=20_000)


class PrepareRequest(BaseModel):
    documents: list[SourceDocument] = Field(min_length=1, max_length=50)
    words_per_chunk: int = Field(40, ge=5, le=500)


class Approval(BaseModel):
    """Body of POST /durable_approval/executions/{id}/resume."""

    approved: bool
    reviewer: str = ""


class Chunk(BaseModel):
    document_id: str
    text: str


class PrepareResult(BaseModel):
    approved_by: str
    chunks: list[Chunk]


class PipelineWrapper(BasePipelineWrapper):
    """Clean documents, wait for approval, split them into chunks."""

    durable_revision = "durable-approval-1"
    durable_resume_model = Approval

    def setup(self) -> None:
        self.pipeline = Pipeline()
        self.pipeline.add_component("clean", DocumentCleaner())
        self.pipeline.add_component("split", DocumentSplitter(split_by="word", split_length=40, split_overlap=0))
        self.pipeline.connect("clean.documents", "split.documents")

    async def run_durable_async(self, context: DurableContext, request: PrepareRequest) -> PrepareResult:
        if context.resume_input is None:
            await context.report_progress(f"{len(request.documents)} documents received", kind="received")
            await context.suspend(
                {
                    "kind": "approval",
                    "message": f"Approve splitting {len(request.documents)} documents?",
                    "document_ids": [doc.id for doc in request.documents],
                    "expected_input_schema": Approval.model_json_schema(),
                }
            )
        approval = Approval.model_validate(context.take_resume_input())
        if not approval.approved:
            raise PermissionError("not approved")
        await context.report_progress(f"approved by {approval.reviewer or 'someone'}", kind="approved")
        documents = [Document(content=doc.text, meta={"doc_ref": doc.id}) for doc in request.documents]
        self.pipeline.get_component("split").split_length = request.words_per_chunk
        outputs = await context.run_pipeline_async({"clean": {"documents": documents}}, checkpoint_at="split")
        chunks = [
            Chunk(document_id=str(doc.meta["doc_ref"]), text=doc.content or "") for doc in outputs["split"]["documents"]
        ]
        for chunk in chunks:
            await context.stream_chunk({"document_id": chunk.document_id, "words": len(chunk.text.split())})
        return PrepareResult(approved_by=approval.reviewer, chunks=chunks)
