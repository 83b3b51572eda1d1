"""A deterministic OpenAI-compatible LLM, embedding and rerank stub for running the real EverOS offline.

Python stdlib only. Serves on loopback:
  POST /v1/chat/completions  recognises each everalgo prompt kind and answers JSON of its shape,
                             built from the conversation's own words (no randomness, no clock)
  POST /v1/embeddings        hashed bag of words, L2-normalised, DIM floats (float or base64)
  POST /v1/rerank, /rerank   vLLM shape: {"results": [{"index", "relevance_score"}]}
  GET  /health               {"status": "ok"}
  GET  /stats                counts per prompt kind, plus the start of any unrecognised prompt

Usage: stub_llm.py [--host 127.0.0.1] [--port 0] [--port-file F] [--dim 256] [--delay-ms 0]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import re
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 256
DELAY_MS = 0
STATS: dict[str, int] = {}
UNKNOWN: list[str] = []
LOCK = threading.Lock()

WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [w.lower() for w in WORD.findall(text)]


def shorten(text: str, limit: int = 80) -> str:
    """One line, at most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return (cut or text[: limit - 1]) + "…"


def between(text: str, start: str, end: str | None, last: bool = False) -> str:
    """The text after `start` (its last occurrence if `last`) up to `end` (or the end)."""
    i = text.rfind(start) if last else text.find(start)
    if i < 0:
        return ""
    i += len(start)
    j = text.find(end, i) if end else -1
    return text[i:j] if j >= 0 else text[i:]


# ---------------------------------------------------------------------------
# Conversation parsing for the formats everalgo renders
# ---------------------------------------------------------------------------

LINE_TS = re.compile(r"^\[(?:\d+\] \[)?([^\]]+)\] (.*?): (.*)$")
LINE_PROFILE = re.compile(r"^\[([^\]]+)\] (.*?)\(user_id:([^)]*)\): (.*)$")
EPISODE_BLOCK = re.compile(
    r'\{\s*(?:"timestamp": (?P<ts>[^\n]*),\s*)?"speaker": (?P<speaker>[^\n]*),\s*"content": (?P<content>.*?)\n\s*\}',
    re.DOTALL,
)


def ts_lines(block: str) -> list[tuple[str, str, str]]:
    """`[ts] name: text` or `[N] [ts] name: text` lines as (ts, speaker, text)."""
    out = []
    for line in block.splitlines():
        m = LINE_TS.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def episode_turns(conversation: str) -> list[tuple[str, str]]:
    """The episode prompt's pseudo-JSON message blocks as (speaker, content)."""
    return [(m.group("speaker").strip(), m.group("content").strip()) for m in EPISODE_BLOCK.finditer(conversation)]


# ---------------------------------------------------------------------------
# Profile facts from a customer's own words
# ---------------------------------------------------------------------------

NAME_STOP = {"on", "in", "a", "an", "the", "not", "having", "trying", "looking", "still", "so", "very", "from"}
FACT_PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("name", re.compile(r"\bmy name is ([A-Z][\w'-]*(?: [A-Z][\w'-]*)?)"), "{0}"),
    ("name", re.compile(r"\b(?:call me|this is) ([A-Z][\w'-]*)"), "{0}"),
    ("name", re.compile(r"\b(?:I'm|I am) ([A-Z][a-z][\w'-]*)\b"), "{0}"),
    ("plan", re.compile(r"\b(?:on|using|subscribed to|have|upgraded to|downgraded to) (?:the|a|an|our) ([\w-]+) (?:plan|tier|subscription)\b", re.I), "{0} plan"),
    ("plan", re.compile(r"\bmy (?:plan|tier|subscription) is (?:the )?([\w-]+)", re.I), "{0} plan"),
    ("email", re.compile(r"\b([\w.+-]+@[\w-]+\.[\w.-]+)\b"), "{0}"),
    ("location", re.compile(r"\b(?:I live in|I'm based in|I am based in|I'm from|I am from) ([A-Z][\w-]*(?: [A-Z][\w-]*)*)"), "{0}"),
    ("company", re.compile(r"\bI work (?:at|for) ([A-Z][\w&-]*(?: [A-Z][\w&-]*)*)"), "{0}"),
    ("order", re.compile(r"\border (?:number |no\.? |#)?#?([A-Z]*-?\d[\w-]*)", re.I), "order {0}"),
    ("preference", re.compile(r"\bI (?:prefer|like|love) ([^.,!?;]+)", re.I), "prefers {0}"),
]


def facts_from(text: str) -> list[tuple[str, str]]:
    """(category, description) pairs a customer stated about themselves in `text`."""
    found: list[tuple[str, str]] = []
    for category, pattern, template in FACT_PATTERNS:
        for m in pattern.finditer(text):
            value = m.group(1).strip()
            if category == "name" and value.split()[0].lower() in NAME_STOP:
                continue
            if category == "name" and any(c == "name" for c, _ in found):
                continue
            found.append((category, template.format(value)))
    return found


def profile_items(conversation: str, target: str) -> list[dict[str, str]]:
    """explicit_info items from the target user's lines (latest statement per category wins)."""
    by_category: dict[str, dict[str, str]] = {}
    for line in conversation.splitlines():
        m = LINE_PROFILE.match(line.strip())
        if not m or m.group(3) != target:
            continue
        ts, speaker, text = m.group(1), m.group(2), m.group(4)
        for category, description in facts_from(text):
            by_category[category] = {
                "category": category,
                "description": description,
                "evidence": f'On {ts} {speaker} said: "{shorten(text, 160)}"',
            }
    return list(by_category.values())


def current_profile(text: str) -> list[dict[str, Any]]:
    """The indexed explicit_info items of the profile-update prompt."""
    section = between(text, "=== explicit_info ===", "=== implicit_traits ===")
    items = []
    for line in section.splitlines():
        m = re.match(r"^\[(\d+)\] (\{.*\})$", line.strip())
        if m:
            try:
                items.append(json.loads(m.group(2)))
            except json.JSONDecodeError:
                items.append({})
    return items


# ---------------------------------------------------------------------------
# One answer per prompt kind
# ---------------------------------------------------------------------------


def answer_batch_boundary(_p: str) -> dict[str, Any]:
    return {"reasoning": "stub: one episode per flush", "boundaries": [], "should_wait": False}


def answer_step_boundary(_p: str) -> dict[str, Any]:
    return {"reasoning": "stub: never split", "should_end": False, "confidence": 0.5, "topic_summary": ""}


def answer_episode(p: str) -> dict[str, Any]:
    user = between(p, "User name: ", "\n").strip()
    conversation = between(p, "Conversation content:\n", "\nCustom instructions:")
    turns = episode_turns(conversation)
    own = [c for s, c in turns if s == user] if user else []
    # Like a real LLM, title the episode by what the customer raised, not by the bot's
    # opening line (bot senders are named "...assistant").
    customer = [c for s, c in turns if "assistant" not in s.lower()]
    first = own[0] if own else (customer[0] if customer else (turns[0][1] if turns else "conversation"))
    content = " ".join(f"{s} said: {c}" for s, c in turns) or shorten(conversation, 2000) or "(empty)"
    return {"title": shorten(first), "content": content}


def answer_atomic_facts(p: str) -> dict[str, Any]:
    if '- EPISODE_TEXT: "' in p:  # from an episode's text (what EverOS 1.5.1 uses)
        when = between(p, '- TIME: "', '"', last=True).strip()
        text = between(p, '- EPISODE_TEXT: "', '"\n- TIME: "', last=True)
        facts = [s for s in re.split(r"(?<=[.!?])\s+(?=\S+ said: )", " ".join(text.split())) if s.strip()]
    else:  # from a memcell's conversation lines
        when = between(p, "Conversation start time: ", "\n", last=True).strip()
        body = between(p, "Conversation content:\n", "\n\n**CRITICAL", last=True)
        facts = [f"{speaker} said: {text}" for _ts, speaker, text in ts_lines(body)]
    return {"atomic_facts": {"time": when or "unknown", "atomic_fact": facts}}


def answer_profile_initial(p: str) -> dict[str, Any]:
    target = between(p, "**TARGET USER: ", "**").strip()
    conversation = between(p, "【Original Conversation】\n", None, last=True)
    return {"explicit_info": profile_items(conversation, target), "implicit_traits": []}


def answer_profile_update(p: str) -> dict[str, Any]:
    target = between(p, "**TARGET USER: ", "**").strip()
    existing = current_profile(between(p, "【Current User Profile】", "【Conversation Records】"))
    conversation = between(p, "【Conversation Records】", "【Task】")
    ops: list[dict[str, Any]] = []
    for item in profile_items(conversation, target):
        index = next((i for i, e in enumerate(existing) if e.get("category") == item["category"]), None)
        if index is None:
            ops.append({"action": "add", "type": "explicit_info", "data": item})
        elif existing[index].get("description") != item["description"]:
            ops.append({"action": "update", "type": "explicit_info", "index": index, "data": item})
    if not ops:
        return {"operations": [{"action": "none"}], "update_note": "stub: nothing new"}
    return {"operations": ops, "update_note": f"stub: {len(ops)} operation(s)"}


def answer_profile_compact(p: str) -> dict[str, Any]:
    try:
        profile = json.loads(between(p, "Current Profile:\n", "\n\n**IMPORTANT**"))
    except json.JSONDecodeError:
        profile = {}
    m = re.search(r"limit of (\d+)", p)
    limit = int(m.group(1)) if m else 20
    explicit = list(profile.get("explicit_info") or [])
    implicit = list(profile.get("implicit_traits") or [])
    explicit = explicit[-limit:]
    implicit = implicit[: max(0, limit - len(explicit))]
    return {"explicit_info": explicit, "implicit_traits": implicit, "compact_note": "stub: kept the newest items"}


def answer_foresight(_p: str) -> dict[str, Any]:
    return {"foresights": []}


def answer_cluster(p: str) -> dict[str, Any]:
    raw = between(p, "[Candidate Clusters]", "[New Task Intent]")
    raw = raw[raw.find("[") :] if "[" in raw else "[]"
    try:
        clusters = json.loads(raw.strip())
    except json.JSONDecodeError:
        clusters = []
    return {"idx": 0 if clusters else -1, "reason": "stub: one cluster per user"}


def overlap(query: str, text: str) -> float:
    """Share of the query's distinct words found in `text` (0..1)."""
    q = set(words(query))
    return len(q & set(words(text))) / len(q) if q else 0.0


def answer_rerank_llm(p: str) -> dict[str, Any]:
    query = between(p, "query:\n", "\n\n").strip() or between(p, "Query:\n", "\n\n").strip()
    raw = between(p, "):\n", "\n\nReturn at most")
    m = re.search(r"Return at most (\d+)", p)
    top_k = int(m.group(1)) if m else 10
    try:
        candidates = json.loads(raw)
    except json.JSONDecodeError:
        candidates = [{"id": i} for i in re.findall(r'"id": "([^"]+)"', p)]
    ranked = [
        {"id": str(c.get("id")), "score": round(0.1 + 0.9 * overlap(query, json.dumps(c, ensure_ascii=False)), 4)}
        for c in candidates
        if isinstance(c, dict)
    ]
    ranked.sort(key=lambda r: -r["score"])
    return {"ranked": ranked[:top_k]}


def answer_sufficiency(_p: str) -> dict[str, Any]:
    return {"is_sufficient": True, "reasoning": "stub", "key_information_found": [], "missing_information": []}


def answer_multi_query(p: str) -> dict[str, Any]:
    q = between(p, "Original Query:\n", "\n\n").strip()
    return {"queries": [q] if q else [], "reasoning": "stub"}


def answer_decider(p: str) -> dict[str, Any]:
    block = between(p, "CANDIDATES THIS ROUND:\n", "\n\nReply with ONLY", last=True)
    core = sorted({int(i) for i in re.findall(r"^\s*(\d+):", block, re.M)})
    return {"core": core, "next_queries": []}


def answer_reflect(p: str) -> dict[str, Any]:
    if "Current narrative:" in p:
        text = between(p, "Current narrative:\n", "\n\nNew episodes") + " " + between(
            p, "New episodes (chronologically ordered):\n", "\n\nUpdate the narrative"
        )
    else:
        text = between(p, "Episodes:\n", None, last=True)
    text = " ".join(text.split()) or "(empty)"
    return {"title": shorten(text), "content": text}


# (kind, marker that must occur in the prompt, answer). First match wins: most specific first.
KINDS: list[tuple[str, str, Any]] = [
    ("decider", '"next_queries"', answer_decider),
    ("sufficiency", '"is_sufficient"', answer_sufficiency),
    ("multi_query", '"queries"', answer_multi_query),
    ("rerank", '"ranked"', answer_rerank_llm),
    ("cluster", '"idx"', answer_cluster),
    ("boundary_batch", '"should_wait"', answer_batch_boundary),
    ("boundary_step", '"should_end"', answer_step_boundary),
    ("profile_compact", '"compact_note"', answer_profile_compact),
    ("profile_update", '"operations"', answer_profile_update),
    ("profile_initial", '"explicit_info"', answer_profile_initial),
    ("foresight", '"foresights"', answer_foresight),
    ("atomic_facts", '"atomic_facts"', answer_atomic_facts),
    ("reflect", "memory consolidation assistant", answer_reflect),
    ("reflect", "updating an existing memory narrative", answer_reflect),
    ("episode", '"title"', answer_episode),
]


def complete(prompt: str) -> tuple[str, str]:
    """(kind, answer text) for one chat prompt."""
    for kind, marker, answer in KINDS:
        if marker in prompt:
            return kind, json.dumps(answer(prompt), ensure_ascii=False)
    if "Refined Query:" in prompt:
        return "refined_query", between(prompt, "Original Query: ", "\n", last=True).strip() or "query"
    with LOCK:
        if len(UNKNOWN) < 20:
            UNKNOWN.append(prompt[:400])
    return "unknown", "{}"


# ---------------------------------------------------------------------------
# Embeddings
# ---------------------------------------------------------------------------


def embed(text: str, dim: int) -> list[float]:
    """Hashed bag of words with a sign bit, L2-normalised; an empty text maps to the first axis."""
    v = [0.0] * dim
    for w in words(text):
        h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
        v[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in v))
    if norm == 0.0:
        v[0] = 1.0
        return v
    return [x / norm for x in v]


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """All message contents joined (string or list-of-parts content)."""
    parts = []
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            parts.append(c)
        elif isinstance(c, list):
            parts.extend(str(x.get("text", "")) for x in c if isinstance(x, dict))
    return "\n".join(parts)


class Handler(BaseHTTPRequestHandler):
    """One request: route, answer, count."""

    server_version = "everdesk-stub-llm/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: our own log line per call
        pass

    def send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self, kind: str) -> None:
        with LOCK:
            STATS[kind] = STATS.get(kind, 0) + 1
        print(f"stub-llm: {self.command} {self.path} {kind}", file=sys.stderr, flush=True)

    def do_GET(self) -> None:
        if self.path == "/health":
            self.send_json(200, {"status": "ok"})
        elif self.path == "/stats":
            with LOCK:
                self.send_json(200, {"kinds": dict(sorted(STATS.items())), "unknown": list(UNKNOWN)})
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self.send_json(400, {"error": {"message": "bad json"}})
            return
        if DELAY_MS:
            time.sleep(DELAY_MS / 1000)
        path = self.path.rstrip("/")
        if path.endswith("/chat/completions"):
            self.chat(body)
        elif path.endswith("/embeddings"):
            self.embeddings(body)
        elif path.endswith("/rerank"):
            self.rerank(body)
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def chat(self, body: dict[str, Any]) -> None:
        kind, content = complete(prompt_text(body.get("messages") or []))
        self.count(kind)
        model = str(body.get("model") or "stub")
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        if body.get("stream"):
            chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}
            data = f"data: {json.dumps(chunk, ensure_ascii=False)}\n\ndata: [DONE]\n\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_json(200, {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": usage,
        })

    def embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input")
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        dim = int(body.get("dimensions") or DIM)
        data = []
        for i, text in enumerate(inputs or []):
            vec = embed(text if isinstance(text, str) else " ".join(map(str, text)), dim)
            if body.get("encoding_format") == "base64":
                emb: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
            else:
                emb = vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        self.count("embeddings")
        self.send_json(200, {"object": "list", "data": data, "model": str(body.get("model") or "stub"),
                             "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def rerank(self, body: dict[str, Any]) -> None:
        query = str(body.get("query") or "")
        docs = [d if isinstance(d, str) else json.dumps(d) for d in body.get("documents") or []]
        results = [{"index": i, "relevance_score": round(0.1 + 0.9 * overlap(query, d), 4)} for i, d in enumerate(docs)]
        results.sort(key=lambda r: (-r["relevance_score"], r["index"]))
        self.count("rerank_api")
        self.send_json(200, {"id": "rerank-stub", "model": str(body.get("model") or "stub"), "results": results})


def main() -> int:
    global DIM, DELAY_MS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--dim", type=int, default=DIM)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()
    DIM, DELAY_MS = args.dim, args.delay_ms
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"stub-llm: listening on http://{args.host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
