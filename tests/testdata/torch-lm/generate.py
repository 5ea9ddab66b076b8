#!/usr/bin/python3
"""Reference traces of optreg's `lm` workload (a character-level transformer) from PyTorch.

Run with Debian's python3-torch (torch 1.13):
    /usr/bin/python3 generate.py OUTDIR [CORPUS]
Writes pre-ln-tied.json and post-ln-untied.json; see ../README.md for the format.
The model is the one docs/runner.md ("The lm workload") describes, built from
torch.nn modules so the tensor names are PyTorch's own. The starting parameters and the
token batches come from a fixed torch.Generator and are written into the trace, so a
test can start the C model from exactly these values; then a few torch.optim.Adam steps
(float32, for-loop path) run and the loss of each step, the gradient of the first step
and the final parameters are recorded.
"""
import json, math, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 96


def token_id(c):
    """'\\n' -> 0, bytes 32..126 -> 1..95, anything else as ' ' (1)."""
    if c == 10:
        return 0
    if 32 <= c <= 126:
        return c - 31
    return 1


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        B, T, d = x.shape
        H, dh = self.heads, d // self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (t.view(B, T, H, dh).transpose(1, 2) for t in (q, k, v))
        s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        s = s.masked_fill(~mask, float("-inf"))
        y = F.softmax(s, dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, d))


class MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc1 = nn.Linear(d, 4 * d)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, d, heads, post_ln):
        super().__init__()
        self.post_ln = post_ln
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.mlp = MLP(d)

    def forward(self, x):
        if self.post_ln:
            x = self.norm1(x + self.attn(x))
            return self.norm2(x + self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class LM(nn.Module):
    def __init__(self, layers, d, heads, context, post_ln, untied):
        super().__init__()
        self.post_ln, self.untied = post_ln, untied
        self.tok_emb = nn.Embedding(VOCAB, d)
        self.pos_emb = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads, post_ln) for _ in range(layers))
        if not post_ln:
            self.norm_f = nn.LayerNorm(d, eps=1e-5)
        if untied:
            self.head = nn.Linear(d, VOCAB, bias=False)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(T))
        for b in self.blocks:
            x = b(x)
        if not self.post_ln:
            x = self.norm_f(x)
        w = self.head.weight if self.untied else self.tok_emb.weight
        return x @ w.t()


def flat(tensors):
    return [float(v) for t in tensors for v in t.detach().reshape(-1).tolist()]


def run_case(name, corpus, post_ln, untied, seed, layers=2, d=8, heads=2, context=8,
             batch=4, steps=4, lr=1e-2):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = LM(layers, d, heads, context, post_ln, untied)
    params = list(model.named_parameters())
    with torch.no_grad():
        # Larger than GPT-2's init, so that every gradient is well above rounding.
        for pname, p in params:
            if "norm" in pname and pname.endswith(".weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif pname.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    param0 = flat(p for _, p in params)
    ntrain = len(corpus) * 9 // 10
    inputs, targets = [], []
    for t in range(steps):
        offs = torch.randint(0, ntrain - context - 1, (batch,), generator=g).tolist()
        inputs.append([corpus[o:o + context] for o in offs])
        targets.append([corpus[o + 1:o + context + 1] for o in offs])
    opt = torch.optim.Adam([p for _, p in params], lr=lr, betas=(0.9, 0.999), eps=1e-8,
                           foreach=False)
    losses, grad1 = [], None
    for t in range(steps):
        opt.zero_grad()
        logits = model(torch.tensor(inputs[t]))
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), torch.tensor(targets[t]).reshape(-1))
        loss.backward()
        losses.append(float(loss))
        if t == 0:
            grad1 = flat(p.grad for _, p in params)
        opt.step()
    return {
        "format": "optreg-torch-lm-trace/1",
        "torch_version": torch.__version__,
        "name": name,
        "shape": {"layers": layers, "d_model": d, "heads": heads, "context": context,
                  "post_ln": post_ln, "untied": untied},
        "batch": batch,
        "adam": {"lr": lr, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
        "tensors": [{"name": n, "numel": p.numel()} for n, p in params],
        "param0": param0,
        "inputs": inputs,
        "targets": targets,
        "loss": losses,
        "grad1": grad1,
        "param_final": flat(p for _, p in params),
    }


def main():
    out = sys.argv[1]
    path = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/common-licenses/GPL-3"
    torch.set_num_threads(1)
    corpus = [token_id(c) for c in open(path, "rb").read()]
    for name, post_ln, untied, seed in (("pre-ln-tied", False, False, 1),
                                        ("post-ln-untied", True, True, 2)):
        case = run_case(name, corpus, post_ln, untied, seed)
        # float32 values as %.9g, which always round-trips through float32:
        # strtod then a cast to float gives each value back exactly.
        arrays = {}
        for key in ("param0", "grad1", "param_final"):
            arrays[key] = "[" + ",".join("%.9g" % v for v in case[key]) + "]"
            case[key] = "@" + key
        text = json.dumps(case, separators=(",", ":"))
        for key, val in arrays.items():
            text = text.replace('"@%s"' % key, val)
        with open(f"{out}/{name}.json", "w") as f:
            f.write(text + "\n")

if __name__ == "__main__":
    main()
