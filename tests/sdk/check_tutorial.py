#!/usr/bin/python3
"""docs/plugins.md quotes examples/plugin-hello/hello.cpp: every line of
its C++ blocks in the "C++ plugin libraries" part (but the elisions,
lines with `/* ... */`) must be a line of hello.cpp, in the same order.
sdk_installed_example builds and runs hello.cpp itself, so the tutorial's
code keeps compiling and answering."""

import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def main():
    doc = open(os.path.join(REPO, "docs", "plugins.md")).read()
    part = doc.split("## C++ plugin libraries", 1)[1].split("\n## ", 1)[0]
    src = [l.strip() for l in open(os.path.join(
        REPO, "examples", "plugin-hello", "hello.cpp")).read().splitlines()]
    pos = 0
    for block in re.findall(r"```cpp\n(.*?)```", part, re.S):
        for line in block.splitlines():
            line = line.strip()
            if not line or "/* " in line:
                continue
            try:
                pos = src.index(line, pos) + 1
            except ValueError:
                print("FAIL: docs/plugins.md quotes a line that is not in "
                      "examples/plugin-hello/hello.cpp (or not in this "
                      "order):\n  " + line)
                return 1
    print("PASS: the tutorial quotes hello.cpp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
