"""The ASGI app (FastAPI: request models checked by pydantic and an OpenAPI description at /docs and
/openapi.json for free).

    POST /get_reward   OpenRLHF's remote reward model: {"query": [...], "prompts": [...]} -> {"rewards": [...]}
    POST /v1/score     {"prompt", "completions"} or a list of them -> scores and the version that made them
    GET  /v1/models    versions, their metrics, which is active, which is serving
    GET  /healthz      liveness and the serving version

Every error is a JSON object {"error": "one line"}: 413 past a bound, 422 for a malformed request.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from trainer.registry import list_versions
from trainer.serving.batcher import Batcher, Scored
from trainer.serving.limits import BodyLimit, Limits
from trainer.serving.versions import ServedModel

log = logging.getLogger("crowdrank.serving")


class RewardRequest(BaseModel):
    """OpenRLHF's body; other fields it sends (labels) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    query: list[str] = Field(description="Each query is its prompt followed by the response.")
    prompts: list[str] = Field(description="The prompt of each query: where the response starts.")


class RewardAnswer(BaseModel):
    rewards: list[float]
    version: str


class ScoreItem(BaseModel):
    prompt: str
    completions: list[str] = Field(min_length=1)


class ScoreAnswer(BaseModel):
    version: str
    scores: list[float]


class ScoreListAnswer(BaseModel):
    version: str
    results: list[list[float]] = Field(description="The scores of each item, in the order given.")


@dataclass
class Service:
    served: ServedModel
    batcher: Batcher
    limits: Limits


def split_queries(body: RewardRequest) -> tuple[list[str], list[str]]:
    """Each query's response is what follows its prompt (found in the query, so a leading BOS or pad token the
    trainer's decoding left in does not matter)."""
    if len(body.prompts) != len(body.query):
        raise HTTPException(422, f"{len(body.query)} queries but {len(body.prompts)} prompts")
    responses = []
    for number, (query, prompt) in enumerate(zip(body.query, body.prompts, strict=True)):
        at = query.find(prompt)
        if at < 0:
            raise HTTPException(422, f"query {number} does not contain its prompt")
        responses.append(query[at + len(prompt):])
    return list(body.prompts), responses


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        service.batcher.start()
        watcher = asyncio.create_task(service.served.watch()) if service.served.follows_active else None
        following = "follows the active version" if watcher else "fixed"
        model = service.served.current()
        log.info("reward model service ready: version %s (%s) on %s, batches of up to %d rows, wait %.0f ms",
                 model.name, following, model.device, service.batcher.max_rows, service.batcher.max_wait * 1000)
        yield
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await service.batcher.stop()

    app = FastAPI(title="crowdrank reward model", version="1", lifespan=lifespan,
                  description="Scores (prompt, completion) pairs with a crowd-trained reward model.")
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_body_bytes)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return JSONResponse({"error": f"{where}: {first['msg']}{more}"}, status_code=422)

    async def score(prompts: list[str], completions: list[str]) -> Scored:
        service.limits.check([*prompts, *completions], len(completions))
        return await service.batcher.score(prompts, completions)

    @app.post("/get_reward", response_model=RewardAnswer, summary="OpenRLHF remote reward model")
    async def get_reward(body: RewardRequest) -> RewardAnswer:
        if not body.query:
            return RewardAnswer(rewards=[], version=service.served.current().name)
        scored = await score(*split_queries(body))
        return RewardAnswer(rewards=scored.scores, version=scored.version)

    @app.post("/v1/score", response_model=ScoreAnswer | ScoreListAnswer, summary="Score completions of prompts")
    async def score_items(body: ScoreItem | list[ScoreItem]) -> ScoreAnswer | ScoreListAnswer:
        items = body if isinstance(body, list) else [body]
        if not items:
            raise HTTPException(422, "an empty list: give at least one {prompt, completions} item")
        prompts = [item.prompt for item in items for _ in item.completions]
        scored = await score(prompts, [text for item in items for text in item.completions])
        if not isinstance(body, list):
            return ScoreAnswer(version=scored.version, scores=scored.scores)
        results, start = [], 0
        for item in items:
            results.append(scored.scores[start:start + len(item.completions)])
            start += len(item.completions)
        return ScoreListAnswer(version=scored.version, results=results)

    @app.get("/v1/models", summary="Reward model versions")
    async def models() -> dict:
        serving = service.served.current().name
        rows = await asyncio.to_thread(list_versions, service.served.url) if service.served.url else []
        versions = [{"name": row.name, "active": row.active, "accepted": row.accepted, "backbone": row.backbone,
                     "metrics": row.metrics, "created_at": row.created_at.isoformat(), "note": row.note}
                    for row in rows]
        if not versions:
            versions = [{"name": serving, "active": None, "metrics": {}}]
        return {"serving": serving, "follows_active": service.served.follows_active, "versions": versions}

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict:
        return {"status": "ok", "version": service.served.current().name, "waiting": service.batcher.waiting,
                "batches": service.batcher.batches, "swaps": service.served.swaps}

    return app
