"""Builds onnx_fp16's native module with the project's CMake build, for `pip install .`.

The metadata is in pyproject.toml. The native module links the C++ library statically; the
build uses the python running pip, so the module matches it. ONNX_FP16_CMAKE_BUILD_DIR reuses an
existing CMake build folder (scripts/demo.sh passes build/release, so nothing compiles twice).
"""

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(os.environ.get("ONNX_FP16_CMAKE_BUILD_DIR", ROOT / "build" / "pip"))
        if not (build_dir / "CMakeCache.txt").exists():
            subprocess.check_call([
                "cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                "-DONNX_FP16_BUILD_TESTS=OFF", "-DONNX_FP16_BUILD_BENCH=OFF", f"-DPython_EXECUTABLE={sys.executable}",
            ])
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "onnx_fp16_python"])
        built = sorted((build_dir / "python" / "onnx_fp16").glob("_native*.so"))
        if not built:
            raise RuntimeError(f"the CMake build in {build_dir} produced no onnx_fp16/_native module")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(ext_modules=[Extension("onnx_fp16._native", sources=[])], cmdclass={"build_ext": CMakeBuild})
