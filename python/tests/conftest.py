"""Shared fixtures: the tiergnn CLI (to generate and import datasets) and small datasets.

The CLI comes from $TIERGNN_CLI (scripts/test.sh sets it) or the usual build folders; tests that need
it fail, not skip, when it cannot be found, so a broken setup cannot pass silently."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def find_cli():
    env = os.environ.get("TIERGNN_CLI")
    if env:
        return env
    for b in ("build/test", "build/release", "build-dev"):
        p = ROOT / b / "cli" / "tiergnn"
        if p.exists():
            return str(p)
    return None


@pytest.fixture(scope="session")
def cli():
    c = find_cli()
    if not c or not os.path.exists(c):
        pytest.fail("the tiergnn CLI was not found: build it (scripts/build.sh) or set TIERGNN_CLI")
    return c


@pytest.fixture(scope="session")
def shared_datasets():
    return pathlib.Path(os.environ.get("TIERGNN_SHARED_DATASETS", ROOT.parent / "shared" / "datasets"))


def run(cli, *args):
    subprocess.run([cli, "-q", *map(str, args)], check=True)


@pytest.fixture(scope="session")
def community(cli, tmp_path_factory):
    """A generated community graph: 6000 nodes, 32 float32 features, 8 classes, splits."""
    d = tmp_path_factory.mktemp("data") / "community"
    run(cli, "generate", "community", d, "--nodes", 6000, "--feature-dim", 32, "--seed", 5)
    return str(d)


@pytest.fixture(scope="session")
def prepared(community, tmp_path_factory):
    """The community graph prepared with GPU, host and disk tiers."""
    import tiergnn

    out = tmp_path_factory.mktemp("prep") / "community-prep"
    return str(tiergnn.prepare(community, out, gpu_mem="10%", host_mem="40%", fanouts=[10, 5], batch_size=256).path)
