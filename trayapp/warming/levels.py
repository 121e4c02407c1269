"""Batch wall time -> level, and the words each level is logged with.

The spicy phrases are the product owner's; ``tone = "plain"`` keeps every profanity out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.Enum):
    FIRE = "fire"
    WARN = "warn"
    SLOWISH = "slowish"
    SLOW = "slow"
    COMPLETE = "complete"
    ERROR = "error"  # the cycle ended with failed checks, or a fatal error stopped it

    @property
    def icon(self) -> str:
        return _ICONS[self]


_ICONS = {
    Level.FIRE: "🔥",
    Level.WARN: "⚠️",
    Level.SLOWISH: "😤",
    Level.SLOW: "💀",
    Level.COMPLETE: "✅",
    Level.ERROR: "💥",
}


@dataclass(frozen=True)
class Thresholds:
    """Batch wall-time boundaries in milliseconds."""

    warn_ms: float = 2000
    slowish_ms: float = 2500
    slow_ms: float = 3000

    def __post_init__(self) -> None:
        if not 0 < self.warn_ms <= self.slowish_ms <= self.slow_ms:
            raise ValueError("thresholds must satisfy 0 < warn_ms <= slowish_ms <= slow_ms")

    def level(self, elapsed_ms: float) -> Level:
        if elapsed_ms < self.warn_ms:
            return Level.FIRE
        if elapsed_ms < self.slowish_ms:
            return Level.WARN
        if elapsed_ms < self.slow_ms:
            return Level.SLOWISH
        return Level.SLOW


TONES = ("spicy", "plain")

_PHRASES = {
    "spicy": {
        Level.FIRE: "",  # ✅ is for a complete cycle only: a fast batch may be in a failing one
        Level.WARN: "Hmm, that's pushing it...",
        Level.SLOWISH: "Getting fucking slow here...",
        Level.SLOW: "💀 FUCK OFF! TOO SLOW! GCP API IS BULLSHIT! 💀",
        Level.COMPLETE: "Cache is HOT! Quotas will be instant! 🔥",
        Level.ERROR: "💀 GCP SAYS NO! 💀",
        "low_hit_rate": "CACHE WARMING ISN'T WORKING! FUCK OFF! 💀",
    },
    "plain": {
        Level.FIRE: "",
        Level.WARN: "close to the limit",
        Level.SLOWISH: "getting slow",
        Level.SLOW: "too slow",
        Level.COMPLETE: "cache complete",
        Level.ERROR: "some checks failed",
        "low_hit_rate": "cache warming is not keeping up",
    },
}


def phrase(level: Level | str, tone: str = "spicy") -> str:
    """The comment a log line ends with for ``level`` (or ``"low_hit_rate"``)."""
    return _PHRASES[tone][level]
