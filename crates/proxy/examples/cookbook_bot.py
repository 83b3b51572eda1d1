#!/usr/bin/env python3
"""The EverOS support cookbook's bot, per message, as a load generator (not a test).

`/work/shared/reference/everos-support-cookbook.txt` ("Complete Support Bot
Implementation") handles a customer message by storing the user turn (v1 add), searching
the customer's profile and episodic memories (two v1 searches, method "vector", top_k 5),
building a reply from them and storing the reply (v1 add). This script does exactly those
four calls, with one of two clients (`--client`):

- `sdk` (the cookbook as written): the EverOS Python SDK the cookbook imports —
  `everos-cloud` 0.4.1 from PyPI, the last release with the cookbook's
  `client.v1.memories` (`add`, `search`, `flush`); one module-level client shared by
  every customer, as in the cookbook. Its interpreter must have that package (proxy_bench
  makes a venv for it in the cache).
- `http` (a leaner bot than the cookbook): the same four calls spelled with the standard
  library only (`http.client`, one keep-alive connection per customer).

One customer per thread — the same 16
concurrent customers as `proxy_bench` sends through the proxy — each customer's messages
in sequence (the cookbook bot is synchronous), and prints one JSON line:
{"messages", "wall_s", "msg_per_s", "p50_ms", "p99_ms", "cpu_s"}. The clock starts when
every customer has opened its ticket (and, with `--history`, first had one ticket
answered and closed — the cookbook's `close_ticket`, a flush — so its searches rank a
past episode); `cpu_s` is this process's CPU time over the whole run.

`proxy_bench` runs it against the same local-everos as the proxy in the same run:
`python3 cookbook_bot.py --base URL --key KEY --customers 16 --messages 50 [--history]
[--client sdk|http]`.
"""

import argparse
import http.client
import json
import threading
import time
import urllib.parse


class Http:
    """One keep-alive connection per bot, as the SDK's pooled HTTP client keeps one."""

    def __init__(self, base, key):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.key = u.hostname, u.port, key
        self.conn = None

    def post(self, path, body):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + self.key}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request("POST", path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status >= 400:
                raise RuntimeError("%s: %d %s" % (path, resp.status, raw[:200]))
            return json.loads(raw) if raw else {}


class Clock:
    """The cookbook stamps int(time.time() * 1000); kept distinct per customer here, so
    two turns in one millisecond are not taken for a resend."""

    def __init__(self):
        self.clock = int(time.time() * 1000)

    def ts(self):
        self.clock = max(self.clock + 1, int(time.time() * 1000))
        return self.clock


class HttpMemories:
    """The cookbook's three SDK calls spelled as HTTP with the standard library."""

    def __init__(self, base, key):
        self.http = Http(base, key)
        self.clock = Clock()

    def store(self, customer_id, session_id, role, content):
        self.http.post("/api/v1/memories", {
            "user_id": customer_id, "session_id": session_id, "async_mode": False,
            "messages": [{"role": role, "timestamp": self.clock.ts(), "content": content}],
        })

    def search(self, customer_id, query, memory_types, top_k):
        resp = self.http.post("/api/v1/memories/search", {
            "filters": {"user_id": customer_id}, "query": query, "method": "vector",
            "memory_types": memory_types, "top_k": top_k,
        })
        data = resp.get("data") or {}
        return [ep.get("summary") or "" for ep in data.get("episodes") or []]

    def flush(self, customer_id, session_id):
        self.http.post("/api/v1/memories/flush", {
            "user_id": customer_id, "session_id": session_id,
        })


class SdkMemories:
    """The cookbook's calls through its SDK, word for word (`memories.add`,
    `memories.search`, `memories.flush` of one shared `EverOS` client)."""

    def __init__(self, memories):
        self.memories = memories
        self.clock = Clock()

    def store(self, customer_id, session_id, role, content):
        self.memories.add(
            user_id=customer_id,
            session_id=session_id,
            messages=[{"role": role, "timestamp": self.clock.ts(), "content": content}],
        )

    def search(self, customer_id, query, memory_types, top_k):
        resp = self.memories.search(
            filters={"user_id": customer_id},
            query=query,
            method="vector",
            memory_types=memory_types,
            top_k=top_k,
        )
        episodes = (resp.data.episodes if resp.data else None) or []
        return [ep.summary or "" for ep in episodes]

    def flush(self, customer_id, session_id):
        self.memories.flush(user_id=customer_id, session_id=session_id)


class CookbookBot:
    """The cookbook's CustomerSupportBot over one of the two clients above."""

    def __init__(self, memories):
        self.m = memories

    def _store(self, customer_id, session_id, role, content):
        self.m.store(customer_id, session_id, role, content)

    def _search(self, customer_id, query, memory_types, top_k=5):
        return self.m.search(customer_id, query, memory_types, top_k)

    def create_ticket(self, customer_id, ticket_id, subject):
        session_id = "ticket_" + ticket_id
        self._store(customer_id, session_id, "assistant", "Ticket opened: " + subject)
        return session_id

    def customer_message(self, customer_id, ticket_id, message):
        session_id = "ticket_" + ticket_id
        self._store(customer_id, session_id, "user", message)
        context = {
            "profile": self._search(customer_id, message, ["profile"]),
            "history": self._search(customer_id, message, ["episodic_memory"]),
        }
        summary = "; ".join(s[:50] for s in context["profile"])
        response = "[Response using context: %s...]" % summary
        self._store(customer_id, session_id, "assistant", response)
        return response

    def close_ticket(self, customer_id, ticket_id):
        self.m.flush(customer_id, "ticket_" + ticket_id)


def customer(memories, c, messages, history, ready, out):
    bot = CookbookBot(memories())
    user = "cookbook_%d" % c
    if history:
        bot.create_ticket(user, "past-%d" % c, "Card payment failed")
        bot.customer_message(user, "past-%d" % c, "My card payment failed at checkout")
        bot.close_ticket(user, "past-%d" % c)
    bot.create_ticket(user, "cook-%d" % c, "Benchmark ticket")
    ready.wait()
    for m in range(messages):
        t = time.perf_counter()
        bot.customer_message(user, "cook-%d" % c, "My invoice number %d was charged twice" % m)
        out.append(time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--customers", type=int, default=16)
    ap.add_argument("--messages", type=int, default=50)
    ap.add_argument("--history", action="store_true")
    ap.add_argument("--client", choices=["sdk", "http"], default="http")
    a = ap.parse_args()
    if a.client == "sdk":
        from everos_cloud import EverOS  # the cookbook's `from everos import EverOS`

        client = EverOS(api_key=a.key, base_url=a.base)
        memories = lambda: SdkMemories(client.v1.memories)
    else:
        memories = lambda: HttpMemories(a.base, a.key)
    lat = []
    started = []
    ready = threading.Barrier(a.customers, action=lambda: started.append(time.perf_counter()))
    threads = [
        threading.Thread(
            target=customer, args=(memories, c, a.messages, a.history, ready, lat))
        for c in range(a.customers)
    ]
    cpu = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started[0]
    cpu = time.process_time() - cpu
    lat.sort()
    pct = lambda p: lat[round((len(lat) - 1) * p)] * 1000 if lat else 0.0
    print(json.dumps({
        "messages": len(lat), "wall_s": wall, "msg_per_s": len(lat) / wall if wall else 0.0,
        "p50_ms": pct(0.5), "p99_ms": pct(0.99), "cpu_s": cpu,
    }))


if __name__ == "__main__":
    main()
