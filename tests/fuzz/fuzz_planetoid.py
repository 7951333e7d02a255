#!/usr/bin/env python3
"""Mutation fuzzing of the Planetoid converter (datasets/planetoid_to_npz.py), whose input is
Python pickles from the internet: every run of the converter on a mutated copy of a real
Planetoid dataset must end in success (exit 0) or one line of bad input (exit 2) — never a
traceback, another exit status, a call the restricted unpickler should have refused, or a hang.

Mutations (deterministic from --seed): flip, set, insert or delete bytes of one file, truncate
it, swap two files, or replace one with a pickle of a hostile or oddly shaped object.

Usage: fuzz_planetoid.py SEED_DIR NAME [--seconds 60] [--seed 1] [--findings DIR]
Prints runs, distinct outcomes and findings; exit status 1 when there is a finding."""
import argparse
import contextlib
import io
import os
import pickle
import random
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "datasets"))
import planetoid_to_npz as conv  # noqa: E402

PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


class Hostile:
    def __reduce__(self):  # would create a file if the unpickler let it through
        return (os.system, ("touch " + os.path.join(tempfile.gettempdir(), "tiergnn-fuzz-pwned"),))


def odd_objects():
    import numpy as np
    import scipy.sparse as sp
    return [Hostile(), None, 7, "text", [], {}, {1: [2**40]}, {-1: [0]}, np.zeros((0, 0)), np.zeros((3,)),
            np.zeros((2, 3, 4)), np.full((4, 3), np.nan), sp.csr_matrix((5, 0)), np.array([[2**62]]),
            np.array(["a", "b"])]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        if not data:
            data = bytearray(rng.randbytes(rng.randint(1, 16)))
            continue
        i = rng.randrange(len(data))
        if op == 0:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op == 2:
            data[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 3:
            del data[i:i + rng.randint(1, 8)]
        else:
            del data[i:]
    return bytes(data)


def run_once(work, name, out):
    """Runs the converter in a forked child; returns ("exit", code, stderr) or ("crash", what, details)."""
    import json
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        res = run_in_process(work, name, out)
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return ("crash", "the converter died of signal %d" % os.WTERMSIG(status), "")
    return tuple(json.loads(data.decode()))


def run_in_process(work, name, out):
    """Runs the converter in this process; returns ("exit", code, stderr) or ("crash", repr, tb)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            conv.main(["planetoid_to_npz.py", work, name, out])
        return ("exit", 0, err.getvalue())
    except SystemExit as e:
        return ("exit", e.code if isinstance(e.code, int) else 1, err.getvalue())
    except BaseException as e:  # noqa: BLE001 - anything else is a finding
        import traceback
        return ("crash", "%s: %s" % (type(e).__name__, str(e)[:200]), traceback.format_exc())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("seed_dir")
    ap.add_argument("name")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--findings", default=None)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    originals = {p: open(os.path.join(a.seed_dir, "ind.%s.%s" % (a.name, p)), "rb").read() for p in PARTS}
    odd = odd_objects()
    pwned = os.path.join(tempfile.gettempdir(), "tiergnn-fuzz-pwned")
    if os.path.exists(pwned):
        os.remove(pwned)
    runs, outcomes, findings = 0, {}, []
    deadline = time.time() + a.seconds
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "in")
        os.makedirs(work)
        while time.time() < deadline:
            files = dict(originals)
            kind = rng.randrange(10)
            part = rng.choice(PARTS)
            if kind < 7:
                files[part] = mutate(rng, files[part])
            elif kind < 8:
                other = rng.choice(PARTS)
                files[part], files[other] = files[other], files[part]
            else:
                files[part] = pickle.dumps(rng.choice(odd), protocol=2) if part != "test.index" else mutate(
                    rng, files[part])
            for p, b in files.items():
                with open(os.path.join(work, "ind.%s.%s" % (a.name, p)), "wb") as f:
                    f.write(b)
            out = os.path.join(tmp, "out.npz")
            res = run_once(work, a.name, out)
            runs += 1
            bad = None
            if res[0] == "crash":
                bad = res[1]
            elif res[1] not in (0, 2):
                bad = "exit status %s" % res[1]
            elif res[1] == 2 and len(res[2].strip().splitlines()) != 1:
                bad = "not one line of error: %r" % res[2][:300]
            if os.path.exists(pwned):
                bad = "a hostile pickle ran code"
                os.remove(pwned)
            key = bad or ("ok" if res[1] == 0 else "bad input: " + res[2].split(":", 1)[-1].strip()[:40])
            outcomes[key] = outcomes.get(key, 0) + 1
            if bad:
                findings.append(bad)
                if a.findings:
                    d = os.path.join(a.findings, "planetoid-%d" % len(findings))
                    shutil.copytree(work, d, dirs_exist_ok=True)
                    with open(os.path.join(d, "finding.txt"), "w") as f:
                        f.write(bad + "\n" + (res[2] if res[0] == "crash" else ""))
    print("fuzz_planetoid: %d runs in %.0f s, %d findings" % (runs, a.seconds, len(findings)))
    for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])[:15]:
        print("  %6d  %s" % (v, k))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
