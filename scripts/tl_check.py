# Check a run in Python: TransformerLens loads model.safetensors with strict=True and its
# run_with_cache matches `indu cache --hooks "*"` (run that first). Usage: python scripts/tl_check.py RUN_DIR
import json, sys, torch
from safetensors.torch import load_file
from transformer_lens import HookedTransformer, HookedTransformerConfig
run = sys.argv[1]
cfg = HookedTransformerConfig(**json.load(open(f"{run}/tl_config.json")))
model = HookedTransformer(cfg)
sd = load_file(f"{run}/model.safetensors")
print(model.load_state_dict(sd, strict=True))
cache = load_file(f"{run}/cache.safetensors")
tokens = cache["tokens"]
logits, c = model.run_with_cache(tokens)
print("max |logits diff|", (logits - cache["logits"]).abs().max().item())
for k in cache:
    if k.startswith("blocks") or k.startswith("hook"):
        print(k, (c[k] - cache[k]).abs().max().item())
