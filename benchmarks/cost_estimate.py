"""How far the cost estimate (``imr_llm.llm.cost``) is from token counts it can be checked against.

    python benchmarks/cost_estimate.py

No model is reachable here, so two references stand in, neither of them a model's bill:

1. The cassettes in ``cassettes/``: HTTP exchanges recorded from the local test server, whose
   ``usage`` is its own count (4 characters per token of the message text; the tool or
   ``response_format`` schema is not counted; the completion is the oracle's scripted answer).
   This checks the letter and answer sizes the estimate assumes, not a tokenizer.
2. OpenAI's ``o200k_base`` encoding (gpt-4o family) run offline over the request each gold
   letter and shared-corpus letter would send in ``tools`` mode (messages, plus the tool
   definition as compact JSON, plus 3 tokens per message and 3 for the reply) and over the
   oracle's answer from its gold label. Needs the ``bpe-openai`` package (its wheel carries the
   encoding; nothing is downloaded); skipped without it. OpenAI renders tool definitions in
   its own format before counting, so the schema part is approximate even there.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import yaml

from imr_llm.config import load_settings
from imr_llm.llm.cost import estimate
from imr_llm.llm.extractor import request_body
from imr_llm.testing.oracle import ideal_answer

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


def _pct(est: float, ref: float) -> float:
    return (est - ref) / ref * 100 if ref else 0.0


def _line(title: str, est: list[int], ref: list[int]) -> str:
    errors = [_pct(e, r) for e, r in zip(est, ref, strict=True)]
    return (
        f"  {title}: estimate {sum(est):,} vs {sum(ref):,} ({_pct(sum(est), sum(ref)):+.1f}% "
        f"in total; per letter median {statistics.median(errors):+.1f}%, "
        f"range {min(errors):+.1f}% .. {max(errors):+.1f}%)"
    )


def cassettes() -> None:
    est_p: list[int] = []
    ref_p: list[int] = []
    est_o: list[int] = []
    ref_o: list[int] = []
    for path in sorted((REPO / "cassettes").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in data["interactions"]:
            body = json.loads(interaction["request"]["body"])
            answer = json.loads(interaction["response"]["body"]["string"])
            user = body["messages"][-1]["content"]
            if len(body["messages"]) != 2 or "<letter>" not in user:
                continue  # a re-ask: the estimate counts first requests only
            letter = user.split("<letter>\n", 1)[1].rsplit("\n</letter>", 1)[0]
            mode = "tools" if "tools" in body else "json_schema"
            got = estimate([letter], load_settings(mode=mode, model="gpt-4o-mini"))
            est_p.append(got.prompt_tokens)
            est_o.append(got.output_tokens)
            ref_p.append(answer["usage"]["prompt_tokens"])
            ref_o.append(answer["usage"]["completion_tokens"])
    print(f"cassettes (test server's own counts, not a model's): {len(est_p)} first requests")
    print(_line("prompt tokens", est_p, ref_p) + "  [the server leaves the schema out]")
    print(_line("output tokens", est_o, ref_o))


def _letters() -> list[tuple[str, str, dict]]:
    found = []
    gold = REPO / "eval" / "gold"
    manifest = json.loads((gold / "manifest.json").read_text(encoding="utf-8"))
    labels = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in gold.glob("labels/*.json")}
    for name, label in sorted(labels.items()):
        found.append(("gold layout", (gold / "letters" / f"{name}.txt").read_text("utf-8"), label))
    for entry in manifest:
        if entry["rendering"] != "layout" and entry["letter"] in labels:
            text = (gold / entry["path"]).read_text(encoding="utf-8")
            found.append((f"gold {entry['rendering']}", text, labels[entry["letter"]]))
    if (CORPUS / "labels").is_dir():
        for label_path in sorted((CORPUS / "labels").glob("*.json")):
            label = json.loads(label_path.read_text(encoding="utf-8"))
            for kind in ("text-layout", "text-ocr"):
                path = CORPUS / kind / f"{label_path.stem}.txt"
                if path.is_file():
                    found.append((f"corpus {kind}", path.read_text(encoding="utf-8"), label))
    return found


def tokenizer() -> None:
    try:
        import bpe_openai  # type: ignore[import-not-found]
    except ImportError:
        print("o200k_base: skipped (pip install bpe-openai to run this part)")
        return
    enc = bpe_openai.get_encoding("o200k_base")
    settings = load_settings(mode="tools", model="gpt-4o-mini")
    groups: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
    for group, text, label in _letters():
        body = request_body(text, settings)
        prompt = sum(len(enc.encode(m["content"])) for m in body["messages"])
        schema = json.dumps(body["tools"], separators=(",", ":"), ensure_ascii=False)
        prompt += len(enc.encode(schema)) + 3 * len(body["messages"]) + 3
        output = len(enc.encode(json.dumps(ideal_answer(label), ensure_ascii=False)))
        got = estimate([text], settings)
        lists = groups.setdefault(group, ([], [], [], []))
        for values, value in zip(
            lists, (got.prompt_tokens, prompt, got.output_tokens, output), strict=True
        ):
            values.append(value)
    print("o200k_base (OpenAI's tokenizer, offline; tools mode; answers from the gold labels):")
    for group, (est_p, ref_p, est_o, ref_o) in groups.items():
        print(f" {group} ({len(est_p)} letters)")
        print(_line("prompt tokens", est_p, ref_p))
        print(_line("output tokens", est_o, ref_o))
        cost_e = [p * 0.15 + o * 0.60 for p, o in zip(est_p, est_o, strict=True)]
        cost_r = [p * 0.15 + o * 0.60 for p, o in zip(ref_p, ref_o, strict=True)]
        print(
            f"  cost at gpt-4o-mini prices: {_pct(sum(cost_e), sum(cost_r)):+.1f}% in total, "
            f"per letter median "
            f"{statistics.median(_pct(e, r) for e, r in zip(cost_e, cost_r, strict=True)):+.1f}%"
        )


def main() -> None:
    cassettes()
    tokenizer()


if __name__ == "__main__":
    main()
