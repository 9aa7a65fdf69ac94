#!/usr/bin/python3
"""The installed SDK end to end (docs/plugins.md).

Installs the build into a temporary prefix (cmake --install), configures
and builds examples/plugin-hello against that prefix only (checked in its
compile commands: never the source tree), then runs the example's own
test (ctest in its build: examples/plugin-hello/test_hello.py), which
loads hello.so in the installed server and talks to it with slixmpp.

    /usr/bin/python3 tests/sdk/test_installed_sdk.py --build build

Every step is bounded.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class TestFailure(Exception):
    pass


def sh(cmd, limit):
    """Runs cmd, bounded; its output on failure."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=limit, text=True)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s: no result within %d s" % (" ".join(cmd), limit))
    if p.returncode != 0:
        raise TestFailure("%s failed:\n%s" % (" ".join(cmd), p.stdout[-3000:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="the build directory")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dja-sdk-")
    try:
        prefix = os.path.join(tmp, "prefix")
        sh(["cmake", "--install", os.path.abspath(args.build), "--prefix",
            prefix], 120)
        out = os.path.join(tmp, "hello")
        cmd = ["cmake", "-S", os.path.join(REPO, "examples", "plugin-hello"),
               "-B", out, "-DCMAKE_PREFIX_PATH=" + prefix,
               "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
               "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]
        if shutil.which("ccache"):
            cmd.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        sh(cmd, 120)
        with open(os.path.join(out, "compile_commands.json")) as f:
            command = json.load(f)[0]["command"]
        if os.path.join(REPO, "actors") in command:
            raise TestFailure("compiled against the source tree: " + command)
        if os.path.join(prefix, "include", "djabberd-actors") not in command:
            raise TestFailure("not compiled against the installed SDK: "
                              + command)
        sh(["cmake", "--build", out], 300)
        print("example built against %s" % prefix)
        print(sh(["ctest", "--test-dir", out, "--output-on-failure",
                  "--timeout", "120"], 150))
        print("PASS test_installed_sdk")
        return 0
    except TestFailure as e:
        print("FAIL test_installed_sdk: %s" % e)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
