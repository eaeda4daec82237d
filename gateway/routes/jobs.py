"""Jobs: live progress of running jobs as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse

from gateway.deps import CurrentMember, Services
from gateway.errors import ERROR_RESPONSES, NotFound
from gateway.progress import ProgressBus

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERROR_RESPONSES)

JobId = Path(ge=0, lt=2**256, description="On-chain job id")
_SSE = {200: {"content": {"text/event-stream": {}}, "description": "A stream of ProgressPublic events"}}


async def sse_stream(bus: ProgressBus, job_id: int) -> AsyncIterator[str]:
    """Format a job's progress events as server-sent events until its terminal event."""
    async for event in bus.subscribe(job_id):
        yield f"data: {json.dumps(event.as_dict())}\n\n"


def progress_response(bus: ProgressBus, job_id: int) -> StreamingResponse:
    """The SSE response of one job, or 404 when this gateway runs no such job."""
    if not bus.history(job_id):
        raise NotFound("job.not_running", f"Job {job_id} has no progress on this gateway: it is not running here.")
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(sse_stream(bus, job_id), media_type="text/event-stream", headers=headers)


@router.get("/{job_id}/progress", response_class=StreamingResponse, responses=_SSE, summary="Live progress (SSE)")
def stream_progress(member: CurrentMember, services: Services, job_id: int = JobId) -> StreamingResponse:
    """Stream the job's progress events (past, then live) until it finishes or fails."""
    return progress_response(services.progress, job_id)
