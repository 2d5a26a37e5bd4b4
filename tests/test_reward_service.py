"""The reward model service over real HTTP (uvicorn on a loopback port): OpenRLHF's contract against
`crowdrank score`, /v1/score, bounds and malformed input as one-line 4xx, dynamic batching, and the hot swap to a
newly activated version while a client streams requests."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.settings import get_settings
from tests.reward_helpers import tiny_backbone
from tests.serving_helpers import add_version
from trainer.score import RewardModel
from trainer.serving.app import create_app
from trainer.serving.limits import Limits
from trainer.serving.server import build_service, running

PROMPTS = ["question topic1 the", "question topic2 so"]
REPLIES = [["kind clear answer", "rude wrong reply", "the answer is lazy"], ["polite helpful", "vague"]]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_backbone(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture
def registry(home: Path, backbone: Path) -> tuple[str, Path]:
    url = get_settings().resolved_database_url
    from storage.migrate import upgrade

    home.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    add_version(url, home, backbone, seed=1)
    return url, home


def cli_scores(model: str, prompt: str, completions: list[str]) -> list[float]:
    args = ["score", "--model", model, "--prompt", prompt, "--json"]
    for completion in completions:
        args += ["--completion", completion]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_openrlhf_requests_get_the_rewards_crowdrank_score_gives(registry: tuple[str, Path]) -> None:
    url, home = registry
    service = build_service("active", home=home, url=url)
    # OpenRLHF sends each query as the prompt followed by the response (here after a BOS token its decoding
    # kept), the prompts, and labels that a reward model may ignore.
    queries = [f"<s>{prompt} {reply}" for prompt, replies in zip(PROMPTS, REPLIES, strict=True) for reply in replies]
    prompts = [prompt for prompt, replies in zip(PROMPTS, REPLIES, strict=True) for _ in replies]
    with running(create_app(service)) as base:
        answer = httpx.post(f"{base}/get_reward", json={"query": queries, "prompts": prompts,
                                                        "labels": [""] * len(queries)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = [score for prompt, replies in zip(PROMPTS, REPLIES, strict=True)
                for score in cli_scores("rm-0001", prompt, [f" {reply}" for reply in replies])]
    assert body["version"] == "rm-0001"
    assert body["rewards"] == pytest.approx(expected, abs=1e-5)
    assert len(set(body["rewards"])) == len(queries)


def test_score_models_health_and_openapi(registry: tuple[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    url, home = registry
    direct = RewardModel.load("rm-0001", home=home)
    caplog.set_level(logging.INFO, logger="crowdrank.serving")
    with running(create_app(build_service("rm-0001", home=home, url=url))) as base:
        single = httpx.post(f"{base}/v1/score", json={"prompt": PROMPTS[0], "completions": REPLIES[0]}).json()
        listed = httpx.post(f"{base}/v1/score", json=[{"prompt": p, "completions": r}
                                                       for p, r in zip(PROMPTS, REPLIES, strict=True)]).json()
        models = httpx.get(f"{base}/v1/models").json()
        health = httpx.get(f"{base}/healthz").json()
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert single["version"] == listed["version"] == "rm-0001"
    assert single["scores"] == pytest.approx(direct.score(PROMPTS[0], REPLIES[0]), abs=1e-5)
    assert listed["results"][1] == pytest.approx(direct.score(PROMPTS[1], REPLIES[1]), abs=1e-5)
    assert models["serving"] == "rm-0001" and models["follows_active"] is False
    assert [(v["name"], v["active"], v["metrics"]["val_accuracy"]) for v in models["versions"]] == [
        ("rm-0001", True, 0.6)]
    assert health["status"] == "ok" and health["version"] == "rm-0001"
    assert {"/get_reward", "/v1/score", "/v1/models", "/healthz"} <= set(paths)
    (ready,) = [r.getMessage() for r in caplog.records if "ready" in r.getMessage()]  # one health line at start
    assert "version rm-0001 (fixed) on cpu" in ready


def test_cli_serve_reward_model_follows_the_active_version_on_port_8000(registry: tuple[str, Path],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import trainer.serving.server as server

    started = []
    monkeypatch.setattr(server, "serve", lambda service, host, port: started.append((service, host, port)))
    result = CliRunner().invoke(cli, ["serve", "--reward-model"])
    assert result.exit_code == 0, result.output
    ((service, host, port),) = started
    assert (host, port, service.served.follows_active, service.served.current().name) == (
        "0.0.0.0", 8000, True, "rm-0001")
    fixed = CliRunner().invoke(cli, ["serve", "--reward-model", "--model", "rm-0001", "--port", "8001"])
    assert fixed.exit_code == 0 and started[1][2] == 8001 and not started[1][0].served.follows_active
    missing = CliRunner().invoke(cli, ["serve", "--reward-model", "--model", "rm-0042"])
    assert missing.exit_code == 2 and "no reward model version rm-0042" in missing.output


@pytest.mark.parametrize(("path", "body", "status", "says"), [
    ("/v1/score", {"prompt": "p", "completions": ["c"] * 9}, 413, "9 completions in one request; at most 8"),
    ("/v1/score", {"prompt": "p" * 101, "completions": ["c"]}, 413, "a text of 101 characters; at most 100"),
    ("/v1/score", {"prompt": "p", "completions": ["c" * 400]}, 413, "body of"),
    ("/get_reward", {"query": ["q"] * 9, "prompts": ["q"] * 9}, 413, "9 completions"),
    ("/v1/score", {"prompt": "p"}, 422, "completions: Field required"),
    ("/v1/score", {"prompt": "p", "completions": []}, 422, "completions: List should have at least 1 item"),
    ("/v1/score", [], 422, "an empty list"),
    ("/get_reward", {"query": ["a b"], "prompts": ["a", "b"]}, 422, "1 queries but 2 prompts"),
    ("/get_reward", {"query": ["a b"], "prompts": ["c"]}, 422, "query 0 does not contain its prompt"),
    ("/get_reward", {"query": "a"}, 422, "query: Input should be a valid list"),
])
def test_bad_input_gets_a_one_line_4xx(registry: tuple[str, Path], path: str, body: object, status: int,
                                       says: str) -> None:
    url, home = registry
    service = build_service("rm-0001", home=home, url=url, limits=Limits(max_body_bytes=300, max_items=8,
                                                                         max_chars=100))
    with running(create_app(service)) as base:
        answer = httpx.post(f"{base}{path}", json=body)
        broken = httpx.post(f"{base}/v1/score", content=b"{not json", headers={"content-type": "application/json"})
        streamed = httpx.post(f"{base}/v1/score", content=iter([b'{"prompt": "', b"p" * 400, b'"}']))
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"] and "\n" not in answer.json()["error"]
    assert broken.status_code == 422 and "JSON decode error" in broken.json()["error"]
    assert streamed.status_code == 413 and "body over 300 bytes" in streamed.json()["error"]


async def test_concurrent_requests_share_forward_passes(registry: tuple[str, Path]) -> None:
    url, home = registry
    service = build_service("rm-0001", home=home, url=url, max_wait=0.05)
    direct = RewardModel.load("rm-0001", home=home)
    requests = [(f"question topic{n}", [f"kind answer {n}", "rude reply", "the answer"][: 1 + n % 3])
                for n in range(16)]
    with running(create_app(service)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            answers = await asyncio.gather(*(client.post("/v1/score", json={"prompt": p, "completions": c})
                                             for p, c in requests))
    assert service.batcher.batches < len(requests) / 2
    for (prompt, completions), answer in zip(requests, answers, strict=True):
        assert answer.json()["scores"] == pytest.approx(direct.score(prompt, completions), abs=1e-5)


async def test_hot_swap_while_a_client_streams_requests(registry: tuple[str, Path], backbone: Path) -> None:
    url, home = registry
    service = build_service("active", home=home, url=url, poll=0.05)
    item = {"prompt": PROMPTS[0], "completions": REPLIES[0]}
    seen: list[tuple[str, list[float]]] = []
    with running(create_app(service)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            async def stream(own: list[str]) -> None:
                while len({version for version, _ in seen}) < 3 or len(seen) < 40:
                    answer = await client.post("/v1/score", json=item)
                    assert answer.status_code == 200, answer.text
                    seen.append((answer.json()["version"], answer.json()["scores"]))
                    own.append(answer.json()["version"])

            async def retrain() -> None:
                for seed in (2, 3):  # two retrains, each activating a new version while requests flow
                    while len(seen) < 10 * seed:
                        await asyncio.sleep(0.01)
                    await asyncio.to_thread(add_version, url, home, backbone, seed)

            streams: list[list[str]] = [[] for _ in range(4)]
            await asyncio.wait_for(asyncio.gather(*map(stream, streams), retrain()), timeout=120)
    versions = [version for version, _ in seen]
    assert set(versions) == {"rm-0001", "rm-0002", "rm-0003"}
    assert all(own == sorted(own) and own for own in streams)  # each client only ever sees versions move forward
    expected = {name: RewardModel.load(name, home=home).score(item["prompt"], item["completions"])
                for name in set(versions)}
    assert expected["rm-0001"] != pytest.approx(expected["rm-0002"], abs=1e-4)
    for version, scores in seen:  # every answer was made by the version it names
        assert scores == pytest.approx(expected[version], abs=1e-5)
    assert service.served.swaps == 2


async def test_a_version_that_will_not_load_leaves_the_old_one_serving(registry: tuple[str, Path], backbone: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    url, home = registry
    service = build_service("active", home=home, url=url, poll=0.05)
    broken = add_version(url, home, backbone, seed=2)
    (broken.path / "config.json").unlink()  # activated, but its folder is damaged
    caplog.set_level(logging.WARNING, logger="crowdrank.serving")
    item = {"prompt": PROMPTS[0], "completions": REPLIES[0]}
    with running(create_app(service)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            await asyncio.sleep(0.5)  # ten polls
            before = (await client.post("/v1/score", json=item)).json()
            add_version(url, home, backbone, seed=3)
            for _ in range(200):
                after = (await client.post("/v1/score", json=item)).json()
                if after["version"] == "rm-0003":
                    break
                await asyncio.sleep(0.02)
    assert before["version"] == "rm-0001" and after["version"] == "rm-0003"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "still serving rm-0001" in warnings[0] and "rm-0002" in warnings[0]
