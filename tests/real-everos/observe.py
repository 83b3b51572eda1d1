"""Exercises a running real EverOS (started by ./start) and prints what it answered, with timings.

Not a test suite: an observation tool whose output fed /work/notes/real-observed.md. Stdlib only.
Usage: observe.py BASE_URL [--section NAME ...] [--out FILE]
Sections: basics, lag, profile, errors, tasks, drop, latency (default: all).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from typing import Any

BASE = ""
T0 = 1767225600000  # 2026-01-01T00:00:00Z; every session uses its own offset
OUT: dict[str, Any] = {}


def call(method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any, float]:
    """(status, parsed JSON or text, milliseconds)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    ms = (time.perf_counter() - start) * 1000
    try:
        return status, json.loads(text), ms
    except json.JSONDecodeError:
        return status, text, ms


def msg(sender: str, role: str, ts: int, content: str, name: str | None = None) -> dict[str, Any]:
    m = {"sender_id": sender, "role": role, "timestamp": ts, "content": content}
    if name:
        m["sender_name"] = name
    return m


def add(session: str, messages: list[dict[str, Any]], defer: bool = True, async_mode: bool = False):
    return call("POST", "/api/v2/memory/add",
                {"session_id": session, "messages": messages, "defer_extraction": defer, "async_mode": async_mode})


def flush(session: str):
    return call("POST", "/api/v2/memory/flush", {"session_id": session})


def search(user: str, query: str, method: str, top_k: int = 10, **extra: Any):
    return call("POST", "/api/v2/memory/search", {"user_id": user, "query": query, "method": method, "top_k": top_k, **extra})


def get(user: str, memory_type: str, **extra: Any):
    return call("POST", "/api/v2/memory/get", {"user_id": user, "memory_type": memory_type, **extra})


def record(name: str, value: Any) -> None:
    OUT[name] = value
    print(f"\n### {name}\n{json.dumps(value, indent=2, ensure_ascii=False)[:4000]}", flush=True)


def ticket(session: str, user: str, name: str, base: int, lines: list[str]) -> list[dict[str, Any]]:
    """Alternating customer / bot turns, 1 s apart, starting at `base` ms."""
    out = []
    for i, line in enumerate(lines):
        if i % 2 == 0:
            out.append(msg(user, "user", base + i * 1000, line, name))
        else:
            out.append(msg("everdesk_bot", "assistant", base + i * 1000, line))
    return out


def poll(fn, pred, timeout: float, step: float = 0.1) -> tuple[float | None, Any]:
    """Seconds until pred(fn()) holds (None on timeout), and the last answer."""
    start = time.perf_counter()
    last = None
    while time.perf_counter() - start < timeout:
        last = fn()
        if pred(last):
            return round(time.perf_counter() - start, 2), last
        time.sleep(step)
    return None, last


def sec_basics() -> None:
    s, body, ms = call("GET", "/health")
    record("health", {"status": s, "ms": round(ms, 1), "body": body})
    msgs = ticket("obs-basic", "cust_dana", "Dana", T0 + 123, [
        "Hi, my name is Dana and I'm on the Pro plan. My invoice shows a double charge.",
        "Sorry Dana, I will refund the duplicate charge on invoice INV-42.",
    ])
    s, body, ms = add("obs-basic", msgs)
    record("add_deferred", {"status": s, "ms": round(ms, 1), "body": body})
    s, body, ms = search("cust_dana", "double charge", "keyword", filters={"session_id": "obs-basic"})
    record("search_buffered_session_filter", {"status": s, "ms": round(ms, 1), "body": body})
    s, body, ms = search("cust_other", "double charge", "keyword", filters={"session_id": "obs-basic"})
    record("search_other_user_with_that_session_filter", {"status": s, "body": body})
    s, body, ms = search("cust_dana", "double charge", "keyword")
    record("search_buffered_no_filter", {"status": s, "body": body})
    s, body, ms = flush("obs-basic")
    record("flush", {"status": s, "ms": round(ms, 1), "body": body})
    s, body, ms = flush("obs-basic")
    record("flush_again_empty", {"status": s, "ms": round(ms, 1), "body": body})
    s, body, ms = flush("obs-never-seen")
    record("flush_unknown_session", {"status": s, "body": body})


def found(r) -> bool:
    return r[0] == 200 and bool(r[1]["data"]["episodes"])


def sec_lag(rounds: int = 6) -> None:
    """Per fresh episode: seconds from the flush's answer until get / vector / hybrid / keyword first see it."""
    lags: dict[str, Any] = {}
    for i in range(rounds):
        session = f"obs-lag-{i}"
        word = f"zq{i}word{'x' * i}"
        add(session, ticket(session, "cust_lag", "Lee", T0 + 10_000_000 * (i + 1), [
            f"My {word} router keeps rebooting every night.", "Please try a factory reset."]))
        s, body, ms = flush(session)
        assert s == 200, body
        t = time.perf_counter()
        probes = {
            "get": lambda: word in json.dumps(get("cust_lag", "episode", page_size=100)[1]),
            "vector": lambda: word in json.dumps(search("cust_lag", word, "vector")[1]["data"]["episodes"]),
            "hybrid": lambda: word in json.dumps(search("cust_lag", word, "hybrid")[1]["data"]["episodes"]),
            "keyword": lambda: word in json.dumps(search("cust_lag", word, "keyword")[1]["data"]["episodes"]),
        }
        seen: dict[str, float | None] = {k: None for k in probes}
        while time.perf_counter() - t < 90 and any(v is None for v in seen.values()):
            for k, probe in probes.items():
                if seen[k] is None and probe():
                    seen[k] = round(time.perf_counter() - t, 2)
            time.sleep(0.1)
        lags[session] = {"flush_ms": round(ms, 1), **{f"{k}_s": v for k, v in seen.items()}}
        print(session, lags[session], flush=True)
        if i == 0:
            record("episode_get", get("cust_lag", "episode")[1])
            record("episode_hybrid_search", search("cust_lag", word, "hybrid")[1])
    record("read_after_flush_lag", lags)


def sec_profile() -> None:
    timeline: dict[str, Any] = {}
    add("obs-prof-1", ticket("obs-prof-1", "cust_pat", "Pat", T0 + 50_000_000, [
        "Hello, my name is Pat and I'm on the Starter plan.", "Welcome Pat, how can I help?",
        "I live in Lisbon and my email is pat@example.com.", "Thanks, noted."]))
    t = time.perf_counter()
    flush("obs-prof-1")
    tp, p = poll(lambda: get("cust_pat", "profile"), lambda r: bool(r[1]["data"]["profiles"]), 20, 0.25)
    timeline["after_ticket_1_profile_s"] = tp
    record("profile_after_ticket_1", p[1] if p else None)
    add("obs-prof-2", ticket("obs-prof-2", "cust_pat", "Pat", T0 + 60_000_000, [
        "Hi again, I upgraded to the Business plan yesterday.", "Great, it is active."]))
    flush("obs-prof-2")
    tp2, p2 = poll(lambda: get("cust_pat", "profile"),
                   lambda r: "Business" in json.dumps(r[1]["data"]["profiles"]), 20, 0.25)
    timeline["after_ticket_2_profile_has_business_s"] = tp2
    record("profile_after_ticket_2", p2[1] if p2 else None)
    add("obs-prof-3", ticket("obs-prof-3", "cust_pat", "Pat", T0 + 70_000_000, [
        "One more thing: call me Patricia from now on.", "Will do."]))
    flush("obs-prof-3")
    tp3, p3 = poll(lambda: get("cust_pat", "profile"),
                   lambda r: "Business" in json.dumps(r[1]["data"]["profiles"]), 20, 0.25)
    timeline["after_ticket_3_profile_has_business_s"] = tp3
    record("profile_after_ticket_3", p3[1] if p3 else None)
    s, body, ms = search("cust_pat", "plan", "hybrid", include_profile=True)
    record("search_include_profile", {"status": s, "body": body})
    timeline["total_s"] = round(time.perf_counter() - t, 2)
    record("profile_lag", timeline)


def sec_errors() -> None:
    errs = {}
    errs["bad_sender_id"] = call("POST", "/api/v2/memory/add", {"session_id": "e1", "async_mode": False, "messages": [
        msg("bad id!", "user", T0, "x")]})[:2]
    errs["missing_timestamp"] = call("POST", "/api/v2/memory/add", {"session_id": "e1", "async_mode": False, "messages": [
        {"sender_id": "u1", "role": "user", "content": "x"}]})[:2]
    errs["malformed_json"] = call("POST", "/api/v2/memory/add", raw=b'{"session_id": ')[:2]
    errs["unknown_route"] = call("GET", "/api/v2/nope")[:2]
    errs["wrong_method"] = call("GET", "/api/v2/memory/add")[:2]
    errs["delete"] = call("POST", "/api/v2/memory/delete", {"user_id": "cust_dana"})[:2]
    errs["delete_by_ids"] = call("POST", "/api/v2/memory/delete_by_ids", {"ids": ["x"]})[:2]
    errs["unknown_task"] = call("GET", "/api/v2/tasks/0123456789abcdef0123456789abcdef")[:2]
    errs["memory_types_v1"] = call("POST", "/api/v2/memory/search", {"user_id": "u", "query": "q", "memory_types": ["episodic_memory"]})[:2]
    errs["filters_user_id"] = call("POST", "/api/v2/memory/search", {"user_id": "u", "query": "q", "filters": {"user_id": "u"}})[:2]
    errs["top_k_0"] = call("POST", "/api/v2/memory/search", {"user_id": "u", "query": "q", "top_k": 0})[:2]
    errs["both_owners"] = call("POST", "/api/v2/memory/search", {"user_id": "u", "agent_id": "a", "query": "q"})[:2]
    errs["v1_memories_path"] = call("POST", "/api/v1/memories", {"user_id": "u"})[:2]
    errs["vector_search"] = call("POST", "/api/v2/memory/search", {"user_id": "u", "query": "q", "method": "vector", "top_k": 5})[:2]
    record("errors", {k: {"status": v[0], "body": v[1]} for k, v in errs.items()})


def sec_tasks() -> None:
    msgs = ticket("obs-async", "cust_ana", "Ana", T0 + 80_000_000, ["My parcel never arrived.", "I'll open a claim."])
    s, body, ms = add("obs-async", msgs, defer=False, async_mode=True)
    record("add_async", {"status": s, "ms": round(ms, 1), "body": body})
    rid = body.get("request_id") if isinstance(body, dict) else None
    data = body.get("data", {}) if isinstance(body, dict) else {}
    task_id = data.get("task_id") or data.get("request_id") or rid
    seen = []
    for _ in range(100):
        st, tb, _ = call("GET", f"/api/v2/tasks/{task_id}")
        seen.append(tb)
        if isinstance(tb, dict) and tb.get("data", {}).get("status") in ("success", "failed"):
            break
        time.sleep(0.1)
    record("task_first_and_last", {"first": seen[0], "last": seen[-1], "polls": len(seen)})
    s, body, ms = flush("obs-async")
    record("flush_after_async", {"status": s, "body": body})
    s, body, ms = add("obs-sync", ticket("obs-sync", "cust_ana", "Ana", T0 + 81_000_000,
                                         ["Where is my refund?", "It is on its way."]), defer=False, async_mode=False)
    record("add_sync_not_deferred", {"status": s, "ms": round(ms, 1), "body": body})


def sec_drop() -> None:
    ts = T0 + 90_000_000
    a = add("obs-drop", [msg("cust_dro", "user", ts, "first message at this millisecond")])
    b = add("obs-drop", [msg("cust_dro", "user", ts, "second message, same millisecond")])
    c = add("obs-drop", [msg("cust_dro", "user", ts, "first message at this millisecond")])
    s, body, _ = search("cust_dro", "message", "keyword", filters={"session_id": "obs-drop"})
    record("same_millisecond", {"add1": a[1], "add2": b[1], "resend_identical": c[1],
                                "buffered": [m["content"] for m in body["data"]["unprocessed_messages"]]})
    # Two messages with the same timestamp inside ONE batch differ by index: both kept?
    d = add("obs-drop2", [msg("cust_dro", "user", ts, "batch item zero"), msg("cust_dro", "user", ts, "batch item one")])
    s, body, _ = search("cust_dro", "batch", "keyword", filters={"session_id": "obs-drop2"})
    record("same_millisecond_one_batch", {"add": d[1], "buffered": [m["id"] for m in body["data"]["unprocessed_messages"]]})
    # Seconds timestamp detection
    e = add("obs-secs", [msg("cust_dro", "user", 1767225600, "a seconds timestamp")])
    s, body, _ = search("cust_dro", "seconds", "keyword", filters={"session_id": "obs-secs"})
    record("seconds_timestamp", {"add": e[1], "buffered": body["data"]["unprocessed_messages"]})


def sec_latency() -> None:
    def med(xs: list[float]) -> float:
        return round(statistics.median(xs), 1)

    adds, flushes = [], []
    for i in range(15):
        session = f"obs-lat-{i}"
        _, _, ms = add(session, ticket(session, "cust_lat", "Lou", T0 + 100_000_000 + i * 100_000,
                                       [f"Question {i} about billing and my account settings.", "Here is the answer."]))
        adds.append(ms)
        s, b, ms = flush(session)
        flushes.append(ms)
    time.sleep(3)
    res: dict[str, Any] = {"add_deferred_ms": med(adds), "flush_ms": med(flushes), "flush_max_ms": round(max(flushes), 1)}
    for method in ("keyword", "vector", "hybrid"):
        xs = [search("cust_lat", "billing account", method)[2] for _ in range(15)]
        res[f"search_{method}_ms"] = med(xs)
    res["search_hybrid_profile_ms"] = med([search("cust_lat", "billing", "hybrid", include_profile=True)[2] for _ in range(15)])
    res["get_episode_ms"] = med([get("cust_lat", "episode")[2] for _ in range(15)])
    res["get_profile_ms"] = med([get("cust_lat", "profile")[2] for _ in range(15)])
    record("latency_medians", res)


SECTIONS = {"basics": sec_basics, "lag": sec_lag, "profile": sec_profile, "errors": sec_errors,
            "tasks": sec_tasks, "drop": sec_drop, "latency": sec_latency}


def main() -> int:
    global BASE
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--section", action="append")
    ap.add_argument("--out")
    args = ap.parse_args()
    BASE = args.base.rstrip("/")
    for name in args.section or list(SECTIONS):
        SECTIONS[name]()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(OUT, f, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
