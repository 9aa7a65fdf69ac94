#!/bin/sh
# Configures and builds djabberd-actors into build/ (release with debug info).
# Uses ccache when it is installed (developer machines; CI builds once).
set -eu
cd "$(dirname "$0")/.."
launcher=""
if command -v ccache >/dev/null 2>&1; then
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $launcher >/dev/null
cmake --build build -j"$(nproc)"
