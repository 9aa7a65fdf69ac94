#!/bin/sh
# Installs the dependencies, builds, and runs the server on the default
# configuration (config/server.toml), in the foreground.
set -eu
cd "$(dirname "$0")/.."
./tools/setup.sh
./tools/build.sh
exec ./build/djabberd-actors --config config/server.toml "$@"
