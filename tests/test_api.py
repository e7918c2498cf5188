"""radiobench.api: one torch-free module with every name a plugin author needs."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import radiobench.api as api

TORCH_FREE = ["Task", "Split", "LazyImages", "linear_scale", "CocoTask", "DetectionTask", "DetectionSplit", "data_root",
              "cache_root", "read_verified", "require_file", "verify_file", "download", "sha256_file", "read_tar_members",
              "check_member_name", "safe_pickle", "check_task", "check_protocol", "check_backbone", "ConformanceError",
              "ProtocolSpec", "ProtocolOption", "Protocol", "MapProtocol", "Predicted"]


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_is_torch_free_and_numpy_free():
    """Registration modules import it, and `radiobench list` imports every registration module."""
    out = run_python("import sys, radiobench.api; print('torch' in sys.modules, 'numpy' in sys.modules)")
    assert out == "False False"


def test_task_side_names_do_not_import_torch():
    out = run_python(f"import sys\nfrom radiobench.api import {', '.join(TORCH_FREE)}\nprint('torch' in sys.modules)")
    assert out == "False"


def test_every_public_name_resolves_to_the_core_object():
    assert api.__all__ == sorted(set(api.__all__))
    namespace: dict = {}
    exec("from radiobench.api import *", namespace)
    assert set(api.__all__) <= set(namespace)
    for name, (module, attribute) in api._LAZY.items():
        home = importlib.import_module(module)
        assert getattr(api, name) is (home if attribute is None else getattr(home, attribute)), name
    from radiobench import errors, specs

    assert api.DatasetNotFoundError is errors.DatasetNotFoundError and api.TaskSpec is specs.TaskSpec
    assert set(api.__all__) <= set(dir(api))


def test_one_error_class_wherever_it_is_imported_from():
    from radiobench.testing import ConformanceError

    assert api.ConformanceError is ConformanceError and issubclass(ConformanceError, AssertionError)


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="has no attribute 'Taks'"):
        api.Taks  # noqa: B018
    with pytest.raises(ImportError):
        exec("from radiobench.api import run_pair", {})
