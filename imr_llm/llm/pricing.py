"""A small price table for cost estimates. Prices change: treat the result as an estimate.

USD per million tokens (input, cached input, output), from the providers' public price lists
as of 2025. Models not listed get no estimate unless prices are configured
(``IMR_LLM_PRICE_INPUT`` / ``IMR_LLM_PRICE_OUTPUT``, USD per million tokens).
"""

from __future__ import annotations

from ..record.models import TokenUsage

PRICES_PER_MTOK: dict[str, tuple[float, float, float]] = {
    "gpt-4o-mini": (0.15, 0.075, 0.60),
    "gpt-4o": (2.50, 1.25, 10.00),
    "gpt-4.1": (2.00, 0.50, 8.00),
    "gpt-4.1-mini": (0.40, 0.10, 1.60),
    "gpt-4.1-nano": (0.10, 0.025, 0.40),
}


def estimate_cost(
    model: str,
    usage: TokenUsage,
    price_input: float | None = None,
    price_output: float | None = None,
) -> float | None:
    """Estimated USD cost of ``usage`` on ``model``; None when no price is known."""
    if price_input is not None and price_output is not None:
        prices = (price_input, price_input, price_output)
    else:
        key = next((k for k in sorted(PRICES_PER_MTOK, key=len, reverse=True)
                    if model == k or model.startswith(k + "-")), None)  # fmt: skip
        if key is None:
            return None
        prices = PRICES_PER_MTOK[key]
    fresh = max(usage.prompt_tokens - usage.cached_tokens, 0)
    cost = (
        fresh * prices[0] + usage.cached_tokens * prices[1] + usage.completion_tokens * prices[2]
    ) / 1_000_000
    return round(cost, 6)
