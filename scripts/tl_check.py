# Check a run in Python: TransformerLens loads model.safetensors with strict=True (and the
# run's tokenizer, from tokenizer.json) and its run_with_cache matches `indu cache --hooks "*"`
# (run that first). Usage: python scripts/tl_check.py RUN_DIR
#
# Masked entries (hook_attn_scores above the diagonal: -inf in TransformerLens, whatever the
# implementation puts there in indu) are compared as a mask: the two must be non-finite at
# the same places, and only the finite entries are differenced. Exits 1 on a mismatch.
import json, os, sys
from safetensors.torch import load_file
from transformer_lens import HookedTransformer, HookedTransformerConfig

run = sys.argv[1]
cfg = HookedTransformerConfig(**json.load(open(f"{run}/tl_config.json")))
tokenizer = None
if os.path.isfile(f"{run}/tokenizer.json"):
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(run)
model = HookedTransformer(cfg, tokenizer=tokenizer)
print(model.load_state_dict(load_file(f"{run}/model.safetensors"), strict=True))
cache = load_file(f"{run}/cache.safetensors")
tokens = cache["tokens"]
logits, c = model.run_with_cache(tokens)
worst = (logits - cache["logits"]).abs().max().item()
print("max |logits diff|", worst)
bad = False
for k in cache:
    if not (k.startswith("blocks") or k.startswith("hook")):
        continue
    ours, theirs = cache[k], c[k]
    fin_ours, fin_theirs = ours.isfinite(), theirs.isfinite()
    if not bool((fin_ours == fin_theirs).all()):
        # indu may hold a large negative number where TransformerLens holds -inf.
        masked = ~fin_theirs
        if bool((fin_theirs & ~fin_ours).any()) or not bool((ours[masked] < -1e4).all()):
            print(k, "MASK MISMATCH: non-finite entries differ")
            bad = True
            continue
    both = fin_ours & fin_theirs
    d = (ours[both] - theirs[both]).abs().max().item() if bool(both.any()) else 0.0
    note = "" if bool(fin_theirs.all()) else f" (finite entries; {int((~fin_theirs).sum())} masked)"
    print(k, d, note)
    worst = max(worst, d)
if bad or worst > 1e-4:
    sys.exit(f"mismatch: worst difference {worst}")
