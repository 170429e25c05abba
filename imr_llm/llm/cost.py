"""What a model run over some letters will cost, estimated before any model is called.

Nothing is sent and nothing is downloaded: token counts come from character counts and
characters-per-token ratios measured once, offline, with OpenAI's ``o200k_base`` encoding
(the gpt-4o / gpt-4.1 family; the ``bpe-openai`` package, whose wheel carries the encoding)
on this repository's letters, prompt and answers. Other tokenizers (Llama, Qwen, Mistral)
split text differently, so for self-hosted models the token figures are a guide, not a count.

For each letter the estimate adds up:

* **prompt tokens**: the letter's characters / :data:`LETTER_CHARS_PER_TOKEN`, plus the fixed
  part of the request: the prompt's own words (system message and letter template) /
  :data:`PROMPT_CHARS_PER_TOKEN`, and the answer schema as the configured mode sends it (a tool
  definition, a ``response_format`` schema, or schema text instructor adds to the prompt) /
  :data:`SCHEMA_CHARS_PER_TOKEN`, plus :data:`MESSAGE_OVERHEAD_TOKENS` per message and
  :data:`REPLY_OVERHEAD_TOKENS` (OpenAI's published accounting for chat messages). The fixed
  part is measured on the request :func:`imr_llm.llm.extractor.request_body` builds, the very
  body an extraction sends;
* **output tokens**: the answer's characters / :data:`ANSWER_CHARS_PER_TOKEN`, where the
  answer is :data:`ANSWER_SHARE` of a record's characters (``benchmarks/anchor_share.py``: the
  model types short values and first/last-word quotes, not whole passages) and a record is
  :data:`RECORD_CHARS_PER_LETTER_CHAR` of its letter's characters.

One answer per letter is assumed: no measured re-ask rate of a real model exists here (the
test server's re-asks are scripted). Each re-ask, up to ``max_attempts`` answers, resends the
letter with the previous answer and its errors, so a letter re-asked costs that much more.
Prompt caching (a provider's discount on a repeated prefix) is not counted either: the
estimate errs high there. Costs use the price table of :mod:`imr_llm.llm.pricing` (or
``IMR_LLM_PRICE_INPUT`` / ``IMR_LLM_PRICE_OUTPUT``) exactly as a run's own cost estimate does;
the batch figure takes ``batch_discount`` off.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import ImrError
from ..form import check_is_imr_letter
from ..inputs.normalise import normalise
from ..record.models import TokenUsage
from .pricing import PRICES_PER_MTOK, estimate_cost
from .prompts import load_prompt

__all__ = [
    "ANSWER_CHARS_PER_TOKEN",
    "ANSWER_SHARE",
    "LETTER_CHARS_PER_TOKEN",
    "MESSAGE_OVERHEAD_TOKENS",
    "PROMPT_CHARS_PER_TOKEN",
    "RECORD_CHARS_PER_LETTER_CHAR",
    "REPLY_OVERHEAD_TOKENS",
    "SCHEMA_CHARS_PER_TOKEN",
    "CostEstimate",
    "FixedPrompt",
    "estimate",
    "fixed_prompt",
]

#: Letter characters per token. Measured (o200k_base): 4.72 on the 25 real letters of the shared
#: corpus as ``pdftotext -layout`` prints them, 4.50 on their OCR text; 4.70 on the gold
#: letters, 4.15 (fax-quality OCR) to 3.68 (heavy noise) on their damaged renderings.
LETTER_CHARS_PER_TOKEN = 4.5
#: The prompt's own words (system message, letter template): measured 4.41.
PROMPT_CHARS_PER_TOKEN = 4.4
#: The answer schema as JSON, counted compact (no whitespace between tokens): measured 4.16 on
#: the tool definition, and 4.16 on the indented schema text instructor writes into the prompt
#: in ``json`` / ``md_json`` modes (counted at its length with whitespace runs kept).
SCHEMA_CHARS_PER_TOKEN = 4.15
#: Answer JSON characters per token: measured 3.72 on the ideal answers of the 37 gold letters.
ANSWER_CHARS_PER_TOKEN = 3.7
#: Characters of the answer / characters of the full record (``benchmarks/anchor_share.py``:
#: 38.6% on the gold set, 35.5% on the shared corpus labels; rounded up).
ANSWER_SHARE = 0.40
#: Characters of the record (contract JSON) / characters of the letter: measured 0.65 on the
#: gold letters, 0.51 on the real corpus letters (``-layout`` pads lines with spaces).
RECORD_CHARS_PER_LETTER_CHAR = 0.60
#: Tokens OpenAI counts around each chat message, and to prime the reply.
MESSAGE_OVERHEAD_TOKENS = 3
REPLY_OVERHEAD_TOKENS = 3

_LETTER_MARK = "\x00LETTER\x00"


@dataclass(frozen=True)
class FixedPrompt:
    """The part of every request that does not depend on the letter, in characters."""

    prompt_chars: int
    schema_chars: int
    messages: int

    @property
    def tokens(self) -> int:
        return (
            math.ceil(self.prompt_chars / PROMPT_CHARS_PER_TOKEN)
            + math.ceil(self.schema_chars / SCHEMA_CHARS_PER_TOKEN)
            + self.messages * MESSAGE_OVERHEAD_TOKENS
            + REPLY_OVERHEAD_TOKENS
        )


def _compact_len(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _content_len(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(len(p.get("text") or "") for p in content if isinstance(p, dict))
    return 0


_FIXED: dict[tuple[Any, ...], FixedPrompt] = {}


def _request_key(settings: Settings) -> tuple[Any, ...]:
    """What shapes the letter-independent part of a request (cache key)."""
    return (settings.mode, settings.prompt_version, settings.model)


def fixed_prompt(settings: Settings) -> FixedPrompt:
    """The letter-independent part of the request ``settings`` make (cached per mode)."""
    key = _request_key(settings)
    cached = _FIXED.get(key)
    if cached is not None:
        return cached
    from .extractor import request_body  # the extractor imports instructor: load it late

    body = request_body(_LETTER_MARK, settings)
    own = load_prompt(settings.prompt_version).messages(_LETTER_MARK)
    own_chars = sum(len(m["content"]) for m in own) - len(_LETTER_MARK)
    sent = body.get("messages") or []
    sent_chars = sum(_content_len(m.get("content")) for m in sent) - len(_LETTER_MARK)
    # What instructor wrote into the messages beyond our prompt is the schema (json, md_json);
    # tools and response_format carry it beside the messages (tools, json_schema).
    schema_chars = max(sent_chars - own_chars, 0)
    for field_name in ("tools", "response_format", "functions"):
        if field_name in body:
            schema_chars += _compact_len(body[field_name])
    fixed = FixedPrompt(prompt_chars=own_chars, schema_chars=schema_chars, messages=len(sent))
    _FIXED[key] = fixed
    return fixed


def letter_prompt_tokens(letter_chars: int, fixed: FixedPrompt) -> int:
    """Estimated prompt tokens of one letter's first request."""
    return math.ceil(letter_chars / LETTER_CHARS_PER_TOKEN) + fixed.tokens


def letter_output_tokens(letter_chars: int) -> int:
    """Estimated tokens of one letter's answer."""
    answer_chars = letter_chars * RECORD_CHARS_PER_LETTER_CHAR * ANSWER_SHARE
    return math.ceil(answer_chars / ANSWER_CHARS_PER_TOKEN)


def _price_source(settings: Settings) -> tuple[float, float, str] | None:
    if settings.price_input is not None and settings.price_output is not None:
        return settings.price_input, settings.price_output, "IMR_LLM_PRICE_INPUT/OUTPUT"
    key = next(
        (k for k in sorted(PRICES_PER_MTOK, key=len, reverse=True)
         if settings.model == k or settings.model.startswith(k + "-")),
        None,
    )  # fmt: skip
    if key is None:
        return None
    return PRICES_PER_MTOK[key][0], PRICES_PER_MTOK[key][2], f"price table: {key}"


@dataclass(frozen=True)
class CostEstimate:
    """The estimate for a set of letters (see the module docstring for how it is made)."""

    letters: int
    prompt_tokens: int
    output_tokens: int
    cost_online_usd: float | None
    cost_batch_usd: float | None
    #: Characters of the letters counted.
    chars: int = 0
    #: Texts left out: empty, over ``max_chars``, or not an IMR letter (no request is made).
    rejected: int = 0
    model: str = ""
    mode: str = ""
    batch_discount: float = 0.5
    #: Prompt tokens every request spends whatever the letter (prompt and answer schema).
    fixed_prompt_tokens: int = 0
    #: USD per million input and output tokens, and where they came from; None when unknown.
    prices: tuple[float, float, str] | None = None
    max_attempts: int = 1

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    def render(self) -> str:
        """A few lines for people: the figures, and how they were made."""
        left_out = (
            f" ({self.rejected} left out: empty, too large or not a letter)"
            if self.rejected
            else ""
        )
        lines = [
            f"estimate, no model called: {self.letters:,} letter(s), {self.chars:,} characters, "
            f"model {self.model}, mode {self.mode}{left_out}",
            f"  prompt tokens  ~{self.prompt_tokens:,} (letters at {LETTER_CHARS_PER_TOKEN} "
            f"characters/token, plus {self.fixed_prompt_tokens:,} per request for the prompt "
            f"and the answer schema)",
            f"  output tokens  ~{self.output_tokens:,} (an answer is about "
            f"{ANSWER_SHARE:.0%} of a record's characters, a record about "
            f"{RECORD_CHARS_PER_LETTER_CHAR:.0%} of its letter's; {ANSWER_CHARS_PER_TOKEN} "
            f"characters/token)",
        ]
        if self.cost_online_usd is None or self.prices is None:
            lines.append(
                f"  cost           unknown: no price for {self.model!r} (set "
                f"IMR_LLM_PRICE_INPUT and IMR_LLM_PRICE_OUTPUT, USD per 1M tokens)"
            )
        else:
            price_in, price_out, source = self.prices
            batch = self.cost_batch_usd if self.cost_batch_usd is not None else 0.0
            lines.append(
                f"  cost           ~${self.cost_online_usd:,.4f} online, ~${batch:,.4f} in a "
                f"batch job ({self.batch_discount:.0%} off), at ${price_in:g} / ${price_out:g} "
                f"per 1M input / output tokens ({source})"
            )
        lines.append(
            "  ratios measured with OpenAI's o200k_base tokenizer on this project's letters; "
            "one answer per letter assumed: each re-ask (up to "
            f"{self.max_attempts} answers) resends the letter and costs more"
        )
        return "\n".join(lines)


def estimate(texts: Sequence[str], settings: Settings) -> CostEstimate:
    """Estimate tokens and cost of extracting ``texts`` with the model ``settings`` name.

    Calls no model and reads nothing from the network. Texts no engine would send to a model
    (empty, over ``max_chars``, not an IMR letter) are counted in ``rejected`` and cost nothing.
    Every other letter is counted as sent to the model, as under ``--backend llm``; the
    ``cascade`` backend sends only the letters the rules engine cannot read, so it costs less.
    """
    fixed = fixed_prompt(settings)
    letters = rejected = chars = prompt_tokens = output_tokens = 0
    for text in texts:
        try:
            check_is_imr_letter(normalise(text, settings.max_chars))
        except ImrError:
            rejected += 1
            continue
        letters += 1
        chars += len(text)
        prompt_tokens += letter_prompt_tokens(len(text), fixed)
        output_tokens += letter_output_tokens(len(text))
    usage = TokenUsage(
        prompt_tokens=prompt_tokens,
        completion_tokens=output_tokens,
        total_tokens=prompt_tokens + output_tokens,
        estimated=True,
    )
    prices = _price_source(settings)
    online = (
        estimate_cost(settings.model, usage, settings.price_input, settings.price_output)
        if prices is not None
        else None
    )
    discount = float(getattr(settings, "batch_discount", 0.5))
    batch = None if online is None else round(online * (1 - discount), 6)
    return CostEstimate(
        letters=letters,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        cost_online_usd=online,
        cost_batch_usd=batch,
        chars=chars,
        rejected=rejected,
        model=settings.model,
        mode=settings.mode,
        batch_discount=discount,
        fixed_prompt_tokens=fixed.tokens,
        prices=prices,
        max_attempts=settings.max_attempts,
    )
