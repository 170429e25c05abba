"""500 letters through a provider batch job, and the same letters online, on the test server.

    python benchmarks/batch_jobs.py [--letters 500] [--invalid 0.15] [--failed 0.03]
                                    [--expired 0.2] [--concurrency 16] [--seed 0]

Letters: the gold letters, repeated with their header values varied (case number and the five
header dates shifted together, in the text and in the label alike; for letters without a
header, the patient's age), so every letter is a distinct text with a known record. The local
test server answers from the labels (the ``tidy`` oracle answer) in its own process, with a
script that depends only on the letter and the attempt number, so the batch and the online run
get identical answers:

- ``--invalid``: share of letters whose first answer shifts the decision date (or the date of
  injury, or the age) by a few days: the evidence check rejects it and the letter is re-asked;
  a tenth of those are wrong on the second answer too (a third attempt);
- ``--failed``: share of letters whose first request fails (HTTP 500): an error-file line in
  the batch (sent again in the next round), a transport retry online;
- ``--expired``: in the second batch, the share of lines the window does not reach
  (``batch_expired``; sent again in the next round).

Printed: letters collected, follow-up batches needed, requests sent, wall time of the client
side (the whole submit + collect minus the time the server spent answering inside its batch
calls), and the token totals of the batch and the online run (concurrency 16) side by side,
which must be equal for identical answers. The engine is the local test server, not a model:
these figures measure the pipeline, never model quality.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import random
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import openai

from imr_llm import extract_many
from imr_llm.config import load_settings
from imr_llm.jobs import collect, submit
from imr_llm.record.models import TokenUsage
from imr_llm.testing.fake_openai import BatchPlan, FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer, letter_in_prompt, text_key

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "eval" / "gold"
HEADER_DATES = ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
                "application_received")  # fmt: skip


def _us(date: str) -> str:
    y, m, d = date.split("-")
    return f"{m}/{d}/{y}"


def variant(text: str, label: dict[str, Any], k: int, rng: random.Random) -> tuple[str, dict]:
    """The letter with its header values varied (variant ``k``; 0 is the letter itself)."""
    if k == 0:
        return text, label
    raw = json.dumps(label)
    if label.get("case_number"):
        new_case = f"{label['case_number'][:5]}{rng.randrange(10**7):07d}"
        text, raw = (
            text.replace(label["case_number"], new_case),
            raw.replace(label["case_number"], new_case),
        )
        shift = dt.timedelta(days=7 * k)
        for key in HEADER_DATES:
            old = label.get(key)
            if old:
                new = (dt.date.fromisoformat(old) + shift).isoformat()
                text = text.replace(_us(old), _us(new))
                raw = raw.replace(_us(old), _us(new)).replace(f'"{old}"', f'"{new}"')
        return text, json.loads(raw)
    # No header: the dates the summary and rationales write (shifted together), and the age.
    shift = dt.timedelta(days=7 * k)
    dates = [(d, "%m/%d/%Y") for d in re.findall(r"\b\d{2}/\d{2}/\d{4}\b", text)]
    dates += [(d, "%B %d, %Y") for d in re.findall(rf"\b(?:{_MONTHS}) \d{{1,2}}, \d{{4}}\b", text)]
    moved: dict[str, str] = {}
    for old, form in sorted(set(dates)):
        try:
            was = dt.datetime.strptime(old, form).date()
        except ValueError:
            continue
        day = was + shift
        new = f"{day:%m/%d/%Y}" if form == "%m/%d/%Y" else f"{day:%B} {day.day}, {day.year}"
        text, raw = text.replace(old, new), raw.replace(old, new)
        moved[was.isoformat()] = day.isoformat()
    varied = json.loads(raw)
    for key in HEADER_DATES:  # a date the summary states (the date of injury) moved with it
        if varied.get(key) in moved:
            varied[key] = moved[varied[key]]
    age = label["patient"].get("age")
    if age:
        new_age = 20 + (age - 20 + 3 * k) % 60
        text = re.sub(rf"\b{age}(?=[ -]year[ -]old)", str(new_age), text, count=1)
        varied["patient"]["age"] = new_age
    return text, varied


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"


def make_letters(n: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """``n`` distinct letters: every gold letter, then variants of those with values to vary."""
    rng = random.Random(seed)
    base = [
        ((GOLD / "letters" / f"{p.stem}.txt").read_text(encoding="utf-8"),
         json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((GOLD / "labels").glob("*.json"))
    ]  # fmt: skip
    letters = list(base)
    seen = {t for t, _ in base}
    k = 1
    while len(letters) < n:
        added = 0
        for text, label in base:
            varied = variant(text, label, k, rng)
            if varied[0] not in seen and len(letters) < n:
                seen.add(varied[0])
                letters.append(varied)
                added += 1
        if not added:
            raise SystemExit("no more distinct variants")
        k += 1
    return letters[:n]


class Script:
    """Answers from the labels; the share of bad first answers and failed first requests is
    drawn per letter text, so both runs see the same thing whatever the order of requests."""

    def __init__(self, letters: list[tuple[str, dict]], invalid: float, failed: float, seed: int):
        self.labels = {text_key(t): label for t, label in letters}
        self.invalid, self.failed, self.seed = invalid, failed, seed
        self.failed_once: set[tuple[str, int]] = set()
        self.lock = threading.Lock()

    def draw(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}|{key}")

    def __call__(self, body: dict[str, Any]) -> Step | None:
        messages = body.get("messages") or []
        key = text_key(letter_in_prompt(messages) or "")
        label = self.labels.get(key)
        if label is None:
            return None
        attempt = 1 + sum(1 for m in messages if m.get("role") == "assistant")
        rng = self.draw(key)
        bad, twice, fail = (
            rng.random() < self.invalid,
            rng.random() < 0.1,
            rng.random() < self.failed,
        )
        with self.lock:
            if fail and attempt == 1 and (key, attempt) not in self.failed_once:
                self.failed_once.add((key, attempt))
                return Step.error(500, should_retry=True)
        answer = ideal_answer(label)
        if bad and (attempt == 1 or (attempt == 2 and twice)):
            answer = _wrong(answer)
        return Step.answer(answer)

    def reset(self) -> None:
        with self.lock:
            self.failed_once.clear()


def _wrong(answer: dict[str, Any]) -> dict[str, Any]:
    """A realistic slip the evidence check catches: a date or the age a few off."""
    wrong = json.loads(json.dumps(answer))
    for key in ("decision_date", "date_of_injury"):
        if wrong.get(key):
            wrong[key] = (dt.date.fromisoformat(wrong[key]) + dt.timedelta(days=3)).isoformat()
            return wrong
    if wrong.get("patient_age"):
        wrong["patient_age"] += 3
    else:
        wrong["items"][0]["outcome"] = {"upheld": "overturned"}.get(
            wrong["items"][0]["outcome"], "upheld"
        )
    return wrong


def _serve(args: argparse.Namespace, conn) -> None:  # runs in the child process
    letters = make_letters(args.letters, args.seed)
    script = Script(letters, args.invalid, args.failed, args.seed)
    with FakeOpenAIServer(responder=script) as server:
        # Round 1 as scripted by the answers; round 2 loses --expired of its lines to the window.
        server.batches.enqueue(BatchPlan(polls=1), BatchPlan(polls=1, status="expired",
                                                             answered=None))  # fmt: skip
        conn.send(server.base_url)
        while True:
            message = conn.recv()
            if message == "stop":
                return
            if message == "stats":
                conn.send((server.batches.busy_seconds, len(server.batches.batches),
                           len(server.batches.lines)))  # fmt: skip
            elif message == "reset":
                script.reset()
                conn.send("ok")
            elif isinstance(message, tuple) and message[0] == "expire":
                server.batches._plans.clear()
                expire = BatchPlan(polls=1, status="expired", answered=message[1])
                server.batches.enqueue(BatchPlan(polls=1), expire)
                conn.send("ok")


def _usage(records: list[dict[str, Any] | None]) -> TokenUsage:
    total = TokenUsage()
    for meta in records:
        if meta and meta.get("usage"):
            total = total + TokenUsage.model_validate(meta["usage"])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=500)
    parser.add_argument("--invalid", type=float, default=0.15)
    parser.add_argument("--failed", type=float, default=0.03)
    parser.add_argument("--expired", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    letters = make_letters(args.letters, args.seed)
    distinct = len({hashlib.sha256(t.encode()).hexdigest() for t, _ in letters})
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(args, child), daemon=True)
    server.start()
    base_url = parent.recv()
    settings = load_settings(model="gpt-4o-mini", base_url=base_url, api_key="bench")
    client = openai.OpenAI(base_url=base_url, api_key="bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "letters"
            folder.mkdir()
            files = []
            for n, (text, _label) in enumerate(letters):
                path = folder / f"letter-{n:04d}.txt"
                path.write_text(text, encoding="utf-8")
                files.append(str(path))
            # The second batch holds the re-asks and the failed lines: let --expired of it expire.
            script = Script(letters, args.invalid, args.failed, args.seed)
            round2 = _round2_size(letters, script)
            parent.send(("expire", round(round2 * (1 - args.expired))))
            parent.recv()

            job = Path(tmp) / "job"
            started, cpu = time.perf_counter(), time.process_time()
            submit(files, job, settings=settings, client=client)
            report = collect(job, settings=settings, client=client, wait=True, poll_s=0.0)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            parent.send("stats")
            busy, batches, lines = parent.recv()
            rows = [json.loads(x) for x in (job / "records.jsonl").read_text().splitlines()]
            batch_meta = {Path(r["metadata"]["source"]).name: r["metadata"] for r in rows}
            need_review = sum(1 for m in batch_meta.values() if m["needs_review"])
            right = sum(
                1 for r in rows
                if _contract(r) == letters[int(Path(r["metadata"]["source"]).stem[-4:])][1]
            )  # fmt: skip
            print(
                f"batch: {args.letters} letters ({distinct} distinct), {report.done} collected "
                f"({need_review} need review, {right} equal to their label), {report.failed} "
                f"failed, {report.pending} pending"
            )
            print(
                f"batch: {batches} batches ({batches - 1} follow-up: re-asks and lines sent "
                f"again), {lines} request lines run"
            )
            client_s = wall - busy
            print(
                f"batch: wall {wall:.2f}s, of which the server answering {busy:.2f}s; client side "
                f"{client_s:.2f}s ({client_s / args.letters * 1000:.1f} ms per letter), client "
                f"CPU {cpu:.2f}s ({cpu / args.letters * 1000:.1f} ms per letter)"
            )

        parent.send("reset")
        parent.recv()
        texts = [t for t, _ in letters]
        started, cpu = time.perf_counter(), time.process_time()
        results = extract_many(texts, backend="llm", client=client, settings=settings,
                               concurrency=args.concurrency)  # fmt: skip
        online_wall, online_cpu = time.perf_counter() - started, time.process_time() - cpu
        online_meta = {
            f"letter-{n:04d}.txt": (r.record.metadata.model_dump(mode="json")
                                    if r.record is not None and r.record.metadata else None)
            for n, r in enumerate(results)
        }  # fmt: skip
        ok = sum(r.ok for r in results)
        flagged = sum(1 for m in online_meta.values() if m and m["needs_review"])
        print(
            f"online: {ok}/{len(results)} ok ({flagged} need review) at concurrency "
            f"{args.concurrency} in {online_wall:.2f}s, client CPU {online_cpu:.2f}s"
        )
        b, o = _usage(list(batch_meta.values())), _usage(list(online_meta.values()))
        print(f"{'tokens':<10}{'batch':>14}{'online':>14}")
        for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
            print(f"{field:<18}{getattr(b, field):>14,}{getattr(o, field):>14,}")
        same = sum(
            1 for name, meta in batch_meta.items()
            if online_meta.get(name) and meta["usage"] == online_meta[name]["usage"]
            and [a["outcome"] for a in meta["attempts"]]
            == [a["outcome"] for a in online_meta[name]["attempts"]]
        )  # fmt: skip
        cost_b = sum(m["cost_usd"] or 0 for m in batch_meta.values())
        cost_o = sum((m or {}).get("cost_usd") or 0 for m in online_meta.values())
        print(f"letters with equal usage and attempts: {same} of {len(batch_meta)}; "
              f"totals {'EQUAL' if b == o else 'DIFFERENT'}")  # fmt: skip
        print(f"cost estimate (gpt-4o-mini price table): batch ${cost_b:.4f}, online "
              f"${cost_o:.4f}")  # fmt: skip
    finally:
        parent.send("stop")
        server.join(timeout=10)


def _round2_size(letters: list[tuple[str, dict]], script: Script) -> int:
    """Lines of the second batch: letters re-asked or whose first line failed."""
    n = 0
    for text, _ in letters:
        rng = script.draw(text_key(text))
        bad, _twice, fail = (
            rng.random() < script.invalid,
            rng.random() < 0.1,
            rng.random() < script.failed,
        )
        n += bad or fail
    return n


def _contract(row: dict[str, Any]) -> dict[str, Any]:
    from imr_llm.record.models import DeterminationRecord

    return DeterminationRecord.model_validate(row).contract_dict()


if __name__ == "__main__":
    main()
