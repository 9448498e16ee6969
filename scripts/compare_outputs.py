#!/usr/bin/env python3
"""Run every indu command with two binaries on the same runs and diff what they produce.

    scripts/compare_outputs.py OLD_BINARY NEW_BINARY [--keep DIR]

Both binaries train the same tiny runs (same seed, one thread: the weights must be
identical), then each analysis command runs with each binary on its own copy of the same
run directory. Compared per command: exit code, stdout, stderr, and every file created or
changed (JSON semantically, other files byte for byte). Timing fields are masked: the
summary's wall time and steps/s, metrics.jsonl's elapsed, eval's "(0.12s)". Prints one line
per difference and exits 1 if there is any.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMING_KEYS = {"elapsed", "elapsed_s", "wall_s", "wall_time_s", "steps_per_s", "ms_per_step",
               "seconds", "train_s", "eval_s", "time_s", "started", "finished", "git", "peak_rss_mb"}
TRAIN = [
    ("induction", ["--steps", "30", "--set", "train.eval_every=10", "--set", "train.eval_size=64"]),
    ("addition", ["--steps", "4", "--set", "train.eval_every=2", "--set", "train.eval_size=16",
                  "--set", "train.batch_size=4"]),
    ("permutations", ["--steps", "4", "--set", "train.eval_every=2", "--set", "train.eval_size=16",
                      "--set", "train.batch_size=4"]),
    ("skip_trigrams", ["--steps", "4", "--set", "train.eval_every=2", "--set", "train.eval_size=16",
                       "--set", "train.batch_size=4"]),
    ("repeated", ["--steps", "3", "--set", "train.eval_every=3", "--set", "train.eval_size=8",
                  "--set", "train.batch_size=2"]),
]
# (run, arguments). RUN is replaced by the run directory.
COMMANDS = [
    ("induction", ["detect-heads", "--run", "RUN", "--batch", "8"]),
    ("induction", ["detect-heads", "--run", "RUN", "--batch", "8", "--json"]),
    ("induction", ["detect-heads", "--run", "RUN", "--on", "task", "--batch", "8"]),
    ("induction", ["detect-heads", "--run", "RUN", "--probe-len", "5", "--repeats", "3", "--batch", "4"]),
    ("induction", ["detect-heads", "--run", "RUN", "--threshold-token", "0.1", "--threshold-induction", "0.05", "--batch", "4"]),
    ("induction", ["plot-attn", "--run", "RUN"]),
    ("induction", ["plot-attn", "--run", "RUN", "--probe", "--json"]),
    ("induction", ["plot-attn", "--run", "RUN", "--text", "abcabc", "--layer", "1"]),
    ("induction", ["plot-attn", "--run", "RUN", "--head", "0", "--out", "RUN/one.png"]),
    ("induction", ["plot-loss", "--run", "RUN"]),
    ("induction", ["eval", "--run", "RUN", "--n", "64", "--samples", "5"]),
    ("induction", ["eval", "--run", "RUN", "--n", "64", "--json"]),
    ("induction", ["sample", "--run", "RUN", "-n", "5"]),
    ("induction", ["sample", "--run", "RUN", "-n", "3", "--temperature", "0.5", "--top-k", "3", "--json"]),
    ("induction", ["sample", "--run", "RUN", "--prompt", "abc"]),
    ("induction", ["cache", "--run", "RUN", "--hooks", "blocks.*.attn.hook_pattern"]),
    ("induction", ["cache", "--run", "RUN", "--hooks", "*", "--probe", "--json"]),
    ("induction", ["cache", "--run", "RUN", "--hooks", "hook_embed", "--text", "abab", "--out", "RUN/c.safetensors"]),
    ("induction", ["circuits", "--run", "RUN"]),
    ("induction", ["circuits", "--run", "RUN", "--json"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "1.0", "--batch", "8"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "0.0,1.0", "--mode", "mean", "--on", "task", "--batch", "8"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "1.0,1.1", "--mode", "project-out", "--rank", "2", "--batch", "4"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "1.0", "--mode", "shuffle", "--batch", "4", "--json"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "1.0", "--mode", "resample", "--batch", "4"]),
    ("induction", ["attribute", "--run", "RUN", "--batch", "8"]),
    ("induction", ["attribute", "--run", "RUN", "--probe-len", "5", "--repeats", "3", "--batch", "4", "--json"]),
    ("addition", ["eval", "--run", "RUN", "--n", "32"]),
    ("addition", ["sample", "--run", "RUN", "-n", "3"]),
    ("addition", ["sample", "--run", "RUN", "--prompt", "12345+67890="]),
    ("addition", ["detect-heads", "--run", "RUN", "--batch", "4"]),
    ("addition", ["plot-loss", "--run", "RUN"]),
    ("addition", ["plot-loss", "--run", "RUN", "--run", "RUN", "--out", "RUN/both.png"]),
    ("permutations", ["sample", "--run", "RUN", "-n", "3"]),
    ("permutations", ["eval", "--run", "RUN", "--n", "16"]),
    ("skip_trigrams", ["sample", "--run", "RUN", "-n", "3"]),
    ("skip_trigrams", ["ablate", "--run", "RUN", "--heads", "0.0", "--on", "task", "--batch", "4"]),
    ("repeated", ["detect-heads", "--run", "RUN", "--batch", "2"]),
    ("repeated", ["eval", "--run", "RUN", "--n", "8"]),
    # Bad input: the one error line must match.
    ("induction", ["ablate", "--run", "RUN", "--heads", "9.9"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "1.0", "--rank", "2"]),
    ("induction", ["ablate", "--run", "RUN", "--heads", "1.0", "--mode", "mean", "--batch", "1"]),
    ("induction", ["detect-heads", "--run", "RUN", "--repeats", "1"]),
    ("induction", ["detect-heads", "--run", "RUN", "--threshold-token", "2"]),
    ("induction", ["detect-heads", "--run", "RUN", "--probe-len", "500"]),
    ("induction", ["detect-heads", "--run", "RUN", "--on", "tusk"]),
    ("induction", ["eval", "--run", "RUN", "--n", "0"]),
    ("induction", ["sample", "--run", "RUN", "--temperature", "-1"]),
    ("induction", ["plot-attn", "--run", "RUN", "--layer", "7"]),
    ("induction", ["cache", "--run", "RUN", "--hooks", "nothing.here"]),
    ("addition", ["sample", "--run", "RUN", "--top-k", "2"]),
    (None, ["data", "--task", "addition", "--n", "5", "--out", "-"]),
    (None, ["data", "--task", "permutations", "--format", "jsonl", "--n", "7", "--out", "-"]),
    (None, ["data", "--task", "induction", "--n", "9", "--test", "--out", "d/ind.txt"]),
    (None, ["data", "--task", "nope"]),
    (None, ["train", "--task", "indction"]),
    (None, ["train"]),
]


# Differences made on purpose, each with its reason (a line of output matching one is
# reported as expected, not as a failure).
EXPECTED = [
    (r"^eval .*eval\.json differs in keys \['schema_version'\]$", "eval.json gained schema_version"),
    (r"^eval .*--json: stdout differs", "eval.json gained schema_version"),
    (r"^(ablate|attribute) .*(json differs in keys \['description'\]|stdout differs)",
     "one probe description (probe.rs) for every report"),
    (r"^cache .*: stdout differs", "cache's hook column is padded as intended"),
]


def mask_json(v):
    if isinstance(v, dict):
        return {k: ("<timing>" if k in TIMING_KEYS else mask_json(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [mask_json(x) for x in v]
    return v


def mask_text(s, root):
    s = s.replace(root, "ROOT")
    # Every command now prints one "wrote PATH" line per file.
    s = re.sub(r"^wrote (\S+) and (\S+)$", r"wrote \1\nwrote \2", s, flags=re.M)
    s = re.sub(r"\(\d+\.\d+s\)", "(T s)", s)
    return s


def snapshot(d):
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


def load(name, data, root):
    if name.endswith(".safetensors"):
        # The header is JSON whose key order is not fixed: compare it parsed.
        n = int.from_bytes(data[:8], "little")
        return (json.loads(data[8:8 + n]), data[8 + n:])
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data
    text = text.replace(root, "ROOT")
    if name.endswith(".json"):
        return mask_json(json.loads(text))
    if name.endswith(".jsonl"):
        return [mask_json(json.loads(l)) for l in text.splitlines() if l.strip()]
    return text


def run(binary, args, cwd, root):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    p = subprocess.run([binary] + args, cwd=cwd, capture_output=True, env=env, timeout=600)
    return p.returncode, mask_text(p.stdout.decode(), root), mask_text(p.stderr.decode(), root)


def main():
    old, new = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    keep = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--keep" else None
    work = keep or tempfile.mkdtemp(prefix="indu-compare-")
    diffs = []
    roots = {}
    for side, binary in (("old", old), ("new", new)):
        roots[side] = os.path.join(work, side)
        os.makedirs(roots[side], exist_ok=True)
        for task, extra in TRAIN:
            rc, out, err = run(binary, ["train", "--task", task, "--quiet", "--out", f"runs/{task}"] + extra,
                               roots[side], roots[side])
            if rc != 0:
                diffs.append(f"train {task} failed with the {side} binary: {err.strip()}")
    # Training outputs must agree (paths masked: each side trained in its own folder).
    for task, _ in TRAIN:
        a = snapshot(os.path.join(roots["old"], "runs", task))
        b = snapshot(os.path.join(roots["new"], "runs", task))
        for name in sorted(set(a) | set(b)):
            if name.endswith(".lock"):
                continue
            if name not in a or name not in b:
                diffs.append(f"train {task}: {name} only in {'new' if name in b else 'old'}")
            elif load(name, a[name], roots["old"]) != load(name, b[name], roots["new"]):
                diffs.append(f"train {task}: {name} differs")
    # Analyses run on copies of the old binary's runs, so the weights are the same.
    for i, (task, args) in enumerate(COMMANDS):
        results = {}
        for side, binary in (("old", old), ("new", new)):
            # The same path for both sides: figures print the run's path in their titles.
            cwd = os.path.join(work, f"cmd{i}")
            shutil.rmtree(cwd, ignore_errors=True)
            os.makedirs(cwd)
            run_dir = os.path.join(cwd, "run")
            if task:
                shutil.copytree(os.path.join(roots["old"], "runs", task), run_dir)
            before = snapshot(cwd)
            a = [x.replace("RUN", run_dir) for x in args]
            rc, out, err = run(binary, a, cwd, cwd)
            after = snapshot(cwd)
            changed = {k: load(k, v, cwd) for k, v in after.items() if before.get(k) != v}
            results[side] = (rc, out, err, changed)
        label = " ".join(args)
        (rc1, o1, e1, f1), (rc2, o2, e2, f2) = results["old"], results["new"]
        if rc1 != rc2:
            diffs.append(f"{label}: exit {rc1} vs {rc2}")
        if o1 != o2:
            diffs.append(f"{label}: stdout differs\n--- old\n{o1}\n--- new\n{o2}")
        if e1 != e2:
            diffs.append(f"{label}: stderr differs\n--- old\n{e1}--- new\n{e2}")
        for name in sorted(set(f1) | set(f2)):
            if name not in f1 or name not in f2:
                diffs.append(f"{label}: {name} written only by the {'new' if name in f2 else 'old'} binary")
            elif f1[name] != f2[name]:
                if isinstance(f1[name], dict) and isinstance(f2[name], dict):
                    keys = sorted(k for k in set(f1[name]) | set(f2[name])
                                  if f1[name].get(k) != f2[name].get(k))
                    diffs.append(f"{label}: {name} differs in keys {keys}")
                else:
                    diffs.append(f"{label}: {name} differs")
    unexpected = 0
    for d in diffs:
        why = next((w for pat, w in EXPECTED if re.search(pat, d.splitlines()[0])), None)
        if why:
            print(f"expected ({why}): {d.splitlines()[0]}")
        else:
            unexpected += 1
            print(d)
    print(f"{len(COMMANDS)} commands and {len(TRAIN)} trainings compared: "
          f"{len(diffs) - unexpected} expected differences, {unexpected} unexpected")
    diffs = diffs if unexpected else []
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
