"""The Planetoid converter (datasets/planetoid_to_npz.py) on hostile input, through `tiergnn import
planetoid` as users run it: a pickle that names a callable must not run it, label arrays whose class
counts disagree are refused, and a corrupted CSR matrix that crashes scipy is a one-line error."""
import os
import pathlib
import pickle
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORA = ROOT.parent / "shared" / "datasets" / "cora"
CONVERTER = ROOT / "datasets" / "planetoid_to_npz.py"


def python_with_scipy():
    return subprocess.run(["python3", "-c", "import numpy, scipy"], capture_output=True).returncode == 0


pytestmark = [pytest.mark.skipif(not CORA.is_dir(), reason="../shared/datasets/cora not present"),
              pytest.mark.skipif(not python_with_scipy(), reason="python3 with numpy and scipy not available")]


class Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


def copy_cora(tmp_path):
    d = tmp_path / "cora"
    d.mkdir()
    for f in CORA.iterdir():
        shutil.copyfile(f, d / f.name)
    return d


def convert(d):
    r = subprocess.run(["python3", str(CONVERTER), str(d), "cora", str(d.parent / "out.npz")],
                       capture_output=True, text=True)
    return r.returncode, r.stderr


def test_a_pickle_naming_a_callable_is_refused_without_running_it(tmp_path):
    d = copy_cora(tmp_path)
    marker = tmp_path / "pwned"
    with open(d / "ind.cora.x", "wb") as f:
        pickle.dump(Hostile(str(marker)), f, protocol=2)
    code, err = convert(d)
    assert code == 2
    assert "refusing to load" in err and len(err.strip().splitlines()) == 1, err
    assert not marker.exists(), "the pickle ran code"


def test_label_arrays_whose_class_counts_disagree_are_refused(tmp_path):
    d = copy_cora(tmp_path)
    subprocess.run(["python3", "-c", "import pickle, sys, numpy as np\n"
                    "y = np.asarray(pickle.load(open(sys.argv[1], 'rb'), encoding='latin1'))\n"
                    "pickle.dump(y[:, :6], open(sys.argv[2], 'wb'), protocol=2)",  # 6 classes where ally has 7
                    str(CORA / "ind.cora.y"), str(d / "ind.cora.y")], check=True)
    code, err = convert(d)
    assert code == 2 and "6 classes" in err and "ally has 7" in err, err


def test_a_csr_matrix_with_columns_out_of_range_is_a_one_line_error(tmp_path):
    d = copy_cora(tmp_path)
    # Written by python3 (numpy and scipy there, maybe not in this interpreter); scipy would write far
    # out of bounds when densifying this matrix.
    subprocess.run(["python3", "-c", "import pickle, sys, numpy as np, scipy.sparse as sp\n"
                    "m = sp.csr_matrix(np.eye(3, dtype=np.float32)); m.indices[1] = 10**6\n"
                    "pickle.dump(m, open(sys.argv[1], 'wb'), protocol=2)", str(d / "ind.cora.x")], check=True)
    code, err = convert(d)
    assert code == 2 and "column index outside" in err and len(err.strip().splitlines()) == 1, err


def test_the_real_cora_still_converts(tmp_path):
    code, err = convert(copy_cora(tmp_path))
    assert code == 0, err


def test_bad_values_are_named_in_the_file_they_are_in(tmp_path):
    """A NaN in tx, or a ty row that is not one-hot: named by the Planetoid file and its row (found
    after the conversion they were named by the intermediate .npz and the merged-graph row)."""
    d = copy_cora(tmp_path)
    subprocess.run(["python3", "-W", "ignore", "-c", "import pickle, sys, numpy as np, scipy.sparse as sp\n"
                    "tx = pickle.load(open(sys.argv[1], 'rb'), encoding='latin1').toarray().astype(np.float32)\n"
                    "tx[0, 0] = np.nan\n"
                    "pickle.dump(sp.csr_matrix(tx), open(sys.argv[2], 'wb'), protocol=2)",
                    str(CORA / "ind.cora.tx"), str(d / "ind.cora.tx")], check=True)
    code, err = convert(d)
    assert code == 2 and "ind.cora.tx: non-finite value at row 0, column 0" in err, err
    shutil.copyfile(CORA / "ind.cora.tx", d / "ind.cora.tx")
    subprocess.run(["python3", "-c", "import pickle, sys, numpy as np\n"
                    "ty = np.asarray(pickle.load(open(sys.argv[1], 'rb'), encoding='latin1')).copy()\n"
                    "ty[3, :] = 1\n"
                    "pickle.dump(ty, open(sys.argv[2], 'wb'), protocol=2)",
                    str(CORA / "ind.cora.ty"), str(d / "ind.cora.ty")], check=True)
    code, err = convert(d)
    assert code == 2 and "ind.cora.ty: row 3 is not a one-hot label row" in err, err
