"""Checks stub_llm.py against the prompts EverOS 1.5.1 really renders: runs the installed everalgo
extractors (boundary, episode, atomic facts, profile init/update/compact, foresight, cluster, reflect)
with an in-process LLM client that answers through stub_llm.complete(), and asserts on what they
return. Fails if a template changed so that the stub no longer recognises or parses it.

Run with the EverOS venv's python: $EVEROS_VENV/bin/python selftest_stub.py   (exit 0 = all pass)
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import numpy as np
from everalgo.boundary.chat import adetect_boundary_step, detect_boundaries
from everalgo.clustering.algorithm import cluster_by_llm
from everalgo.clustering.state import Cluster
from everalgo.llm.types import ChatResponse
from everalgo.types import MemCell
from everalgo.types.chat import ChatMessage
from everalgo.user_memory import (
    AtomicFactExtractor,
    EpisodeExtractor,
    EpisodeReflector,
    ForesightExtractor,
    ProfileExtractor,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stub_llm  # noqa: E402

KINDS: list[str] = []


class StubClient:
    """everalgo LLMClient answering through stub_llm.complete()."""

    async def chat(self, messages: list[Any], *, response_format: Any = None, **_: Any) -> ChatResponse:
        kind, content = stub_llm.complete("\n".join(str(m.content) for m in messages))
        KINDS.append(kind)
        # Like the OpenAI SDK's structured-output parse over HTTP: the JSON content, validated.
        parsed = response_format.model_validate_json(content) if response_format else None
        return ChatResponse(content=content, model="stub", parsed=parsed)


T = 1767225600000


def chat(i: int, sender: str, role: str, text: str, name: str | None = None) -> ChatMessage:
    return ChatMessage(id=f"m{i}", role=role, content=text, timestamp=T + i * 1000, sender_id=sender, sender_name=name)


TICKET = [
    chat(0, "cust_dana", "user", "Hi, my name is Dana and I'm on the Pro plan.", "Dana"),
    chat(1, "bot", "assistant", "Hello Dana, how can I help?"),
    chat(2, "cust_dana", "user", "My invoice INV-42 shows a double charge. I live in Oslo.", "Dana"),
    chat(3, "bot", "assistant", "I will refund the duplicate charge."),
]
LATER = [
    chat(10, "cust_dana", "user", "I upgraded to the Business plan, my email is dana@example.com.", "Dana"),
    chat(11, "bot", "assistant", "Noted."),
]


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)
    print(f"ok   {what}")


async def search_prompts(llm: StubClient) -> None:
    """The prompts search may send (agentic / multi-round / LLM rerank), rendered as everalgo/everos do."""
    import json

    from everalgo.rank.prompts.en.episodic import EPISODIC_RERANK_PROMPT_EN
    from everalgo.rank.prompts.en.multi_query import MULTI_QUERY_PROMPT_EN
    from everalgo.rank.prompts.en.refined_query import REFINED_QUERY_PROMPT_EN
    from everalgo.rank.prompts.en.sufficiency import SUFFICIENCY_CHECK_PROMPT_EN
    from everos.memory.search.llm_multiround import _DECIDER_PROMPT

    cands = [{"id": "a", "episode": "weather talk"}, {"id": "b", "episode": "double charge refund"}]
    r = await llm.chat([Msg(EPISODIC_RERANK_PROMPT_EN.format(query="double charge", candidates_json=json.dumps(cands), top_k=5))])
    check([x["id"] for x in json.loads(r.content)["ranked"]] == ["b", "a"], "LLM rerank orders by word overlap")
    r = await llm.chat([Msg(SUFFICIENCY_CHECK_PROMPT_EN.format(query="q", retrieved_docs="d"))])
    check(json.loads(r.content)["is_sufficient"] is True, "sufficiency: sufficient")
    r = await llm.chat([Msg(MULTI_QUERY_PROMPT_EN.format(original_query="my refund", key_info="", missing_info="", retrieved_docs=""))])
    check(json.loads(r.content)["queries"] == ["my refund"], "multi-query: the original query")
    r = await llm.chat([Msg(REFINED_QUERY_PROMPT_EN.format(original_query="my refund", retrieved_docs="", missing_info=""))])
    check(r.content == "my refund", "refined query: the original query")
    r = await llm.chat([Msg(_DECIDER_PROMPT.format(max_sub=3, question="q", core_so_far="(none)",
                                                   evidence="[block: original question]\n  0: a\n  1: b"))])
    check(json.loads(r.content) == {"core": [0, 1], "next_queries": []}, "multi-round decider: keep all, stop")


class Msg:
    """A minimal chat message for the prompts rendered here."""

    def __init__(self, content: str) -> None:
        self.content = content


async def main() -> int:
    llm = StubClient()
    cell = MemCell(items=TICKET, timestamp=TICKET[-1].timestamp)
    later = MemCell(items=LATER, timestamp=LATER[-1].timestamp)

    result = await detect_boundaries(TICKET, llm=llm, is_final=True)
    check(len(result.cells) == 1 and len(result.cells[0].items) == 4, "batch boundary: one cell of 4 messages")
    step = await adetect_boundary_step(TICKET[:2], TICKET[2:], llm=llm)
    check(step.should_end is False, "step boundary: should_end false")

    ep = await EpisodeExtractor(llm=llm).aextract(cell, sender_id="cust_dana")
    check(ep.subject == "Hi, my name is Dana and I'm on the Pro plan.", f"episode title is the first customer line: {ep.subject!r}")
    check("double charge" in ep.episode and "refund" in ep.episode, "episode content carries the conversation's words")
    generic = await EpisodeExtractor(llm=llm).aextract(cell, sender_id=None)
    check("INV-42" in generic.episode, "generic episode content carries the words")

    facts = await AtomicFactExtractor(llm=llm).aextract_from_text(ep.episode, timestamp=T)
    check(len(facts) == 4 and "double charge" in facts[2].content, f"atomic facts from episode text: {len(facts)}")
    facts2 = await AtomicFactExtractor(llm=llm).aextract(cell, sender_id="cust_dana")
    check(len(facts2) == 4, "atomic facts from a memcell")

    prof = await ProfileExtractor(llm=llm).aextract([cell], sender_id="cust_dana")
    info = {i["category"]: i["description"] for i in prof.explicit_info}
    check(info == {"name": "Dana", "plan": "Pro plan", "location": "Oslo"}, f"profile initial from the customer's words: {info}")
    check(all("bot" not in i["evidence"] for i in prof.explicit_info), "profile ignores the assistant's turns")
    updated = await ProfileExtractor(llm=llm).aextract([later], sender_id="cust_dana", old_profile=prof)
    info2 = {i["category"]: i["description"] for i in updated.explicit_info}
    check(info2.get("plan") == "Business plan" and info2.get("email") == "dana@example.com"
          and info2.get("name") == "Dana", f"profile update: plan updated, email added, name kept: {info2}")
    same = await ProfileExtractor(llm=llm).aextract([cell], sender_id="cust_dana", old_profile=prof)
    check(len(same.explicit_info) == len(prof.explicit_info), "profile update with nothing new changes nothing")
    compact = await ProfileExtractor(llm=llm)._compact(updated)
    check(len(compact.explicit_info) == len(updated.explicit_info), "profile compact keeps items under the limit")

    fs = await ForesightExtractor(llm=llm).aextract(cell, sender_id="cust_dana")
    check(fs == [], "foresight: none")

    vec = np.array(stub_llm.embed("billing refund", 8), dtype=np.float32)
    existing = [Cluster(id="c1", centroid=-vec, last_ts=T, preview=["other"])]
    merged = await cluster_by_llm(Cluster(centroid=vec, last_ts=T, preview=["new"]), existing, llm=llm)
    check(merged is not None and merged.id == "c1", "cluster: joins the existing cluster")

    reflected = await EpisodeReflector(llm=llm).areflect([ep, generic])
    check("double charge" in reflected.episode, "reflect merges the episodes' words")

    a, b = stub_llm.embed("double charge refund", 256), stub_llm.embed("Refund: DOUBLE charge!", 256)
    check(abs(sum(x * x for x in a) - 1.0) < 1e-9 and sum(x * y for x, y in zip(a, b)) > 0.99,
          "embeddings: unit length, same words give the same direction")
    await search_prompts(llm)
    check("unknown" not in KINDS, f"every prompt recognised: {sorted(set(KINDS))}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except AssertionError as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
