"""A torch-free reference for local-everos's sentence embeddings (not run by CI).

It follows Hugging Face's BertModel and sentence-transformers' all-MiniLM-L6-v2 pipeline
(tokenizer.json, max 256 tokens, mean pooling over the attention mask, L2 normalisation)
in plain numpy, so the Rust vectors can be checked against an independent implementation:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install numpy tokenizers
    /tmp/ref/bin/python crates/local-everos/examples/minilm_reference.py MODEL_DIR "text" ...

prints one JSON line per text: {"text": ..., "vector": [384 floats]}.
"""

import json
import math
import struct
import sys

import numpy as np
from tokenizers import Tokenizer

MAX_TOKENS = 256


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"])
    return out


def layer_norm(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def linear(w, prefix, x):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def embed(w, cfg, ids):
    heads = cfg["num_attention_heads"]
    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        d = x.shape[-1] // heads
        q = linear(w, p + "attention.self.query", x).reshape(n, heads, d).transpose(1, 0, 2)
        k = linear(w, p + "attention.self.key", x).reshape(n, heads, d).transpose(1, 0, 2)
        v = linear(w, p + "attention.self.value", x).reshape(n, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(n, heads * d)
        a = linear(w, p + "attention.output.dense", ctx)
        x = layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        h = gelu(linear(w, p + "intermediate.dense", x))
        o = linear(w, p + "output.dense", h)
        x = layer_norm(o + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    pooled = x.mean(0)  # one unpadded text: every token is attended
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    model_dir = sys.argv[1]
    w = load_safetensors(model_dir + "/model.safetensors")
    cfg = json.load(open(model_dir + "/config.json"))
    tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    for text in sys.argv[2:]:
        ids = tok.encode(text).ids
        vec = embed(w, cfg, np.array(ids))
        print(json.dumps({"text": text, "tokens": len(ids), "vector": [round(float(v), 7) for v in vec]}))


if __name__ == "__main__":
    main()
