"""Wall time of extract_many against the local test server with a fixed latency per answer.

    python benchmarks/llm_concurrency.py [--letters 64] [--concurrency 16] [--latency 1.0]

The server runs in its own process, as a real endpoint would, and answers every request after
exactly --latency seconds (answers scripted from the gold labels), so the ideal wall time is
letters x latency / concurrency. The default latency, 1 s, is a fast model answer; at a few
hundred milliseconds this 2-core machine's CPU (client and server are both Python) starts to
show in the figure, which real endpoints, answering in seconds, do not. Target (LLM issue):
within 1.2x of ideal. The engine is the local test server, not a model: no quality figure here.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from pathlib import Path

import openai

from imr_llm import aextract_many, extract_many
from imr_llm.testing.fake_openai import FakeOpenAIServer
from imr_llm.testing.oracle import GoldResponder

REPO = Path(__file__).resolve().parent.parent


def _serve(latency: float, conn) -> None:  # runs in the child process
    oracle = GoldResponder.from_gold_dir(REPO / "eval/gold")

    def slow(body: dict):
        step = oracle(body)
        return step.with_delay(latency) if step else None

    with FakeOpenAIServer(responder=slow) as server:
        conn.send(server.base_url)
        conn.recv()  # wait until the parent is done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()

    letters = [
        p.read_text(encoding="utf-8") for p in sorted((REPO / "eval/gold/letters").glob("*.txt"))
    ]
    texts = [letters[i % len(letters)] for i in range(args.letters)]
    ideal = args.letters * args.latency / args.concurrency
    print(
        f"engine: llm via local test server   letters: {args.letters}   "
        f"concurrency: {args.concurrency}   latency: {args.latency}s   ideal: {ideal:.2f}s"
    )
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(args.latency, child), daemon=True)
    server.start()
    base_url = parent.recv()
    try:
        client = openai.OpenAI(base_url=base_url, api_key="bench")
        # Warm up (imports, schema, one pooled connection per worker): steady state is measured.
        extract_many(texts[: args.concurrency], backend="llm", client=client,
                     concurrency=args.concurrency)  # fmt: skip
        started = time.perf_counter()
        results = extract_many(texts, backend="llm", client=client, concurrency=args.concurrency)
        wall = time.perf_counter() - started
        ok = sum(r.ok for r in results)
        print(f"threads: {wall:.2f}s  ({wall / ideal:.2f}x ideal), {ok}/{len(results)} ok")

        async def run_async() -> tuple[float, list]:
            aclient = openai.AsyncOpenAI(base_url=base_url, api_key="bench")
            await aextract_many(texts[: args.concurrency], backend="llm", client=aclient,
                                concurrency=args.concurrency)  # fmt: skip
            started = time.perf_counter()
            done = await aextract_many(
                texts, backend="llm", client=aclient, concurrency=args.concurrency
            )
            return time.perf_counter() - started, done

        wall, results = asyncio.run(run_async())
        ok = sum(r.ok for r in results)
        print(f"asyncio: {wall:.2f}s  ({wall / ideal:.2f}x ideal), {ok}/{len(results)} ok")
    finally:
        parent.send("done")
        server.join(timeout=5)
    print("target: <= 1.2x ideal")


if __name__ == "__main__":
    main()
