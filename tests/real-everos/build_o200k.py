"""Builds tiktoken's o200k_base cache file offline from the npm package tiktoken's
encoders/o200k_base.json, checks tiktoken's expected sha256, and writes it atomically.

Usage: build_o200k.py SRC_JSON DEST_FILE EXPECTED_SHA256   (Python stdlib only)
"""
import hashlib
import json
import os
import sys


def expand(bpe_ranks: str) -> bytes:
    """Turns lines `! <offset> <tok> <tok> ...` into `<tok> <offset+k>\\n` lines."""
    out = []
    for line in bpe_ranks.split("\n"):
        parts = line.split(" ")
        if len(parts) < 2 or parts[0] != "!":
            continue
        offset = int(parts[1])
        for k, tok in enumerate(parts[2:]):
            if tok:
                out.append(f"{tok} {offset + k}\n")
    return "".join(out).encode("ascii")


def main() -> int:
    src, dest, want = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(src, encoding="utf-8") as f:
        data = expand(json.load(f)["bpe_ranks"])
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        print(f"build_o200k: sha256 {got} != expected {want}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
