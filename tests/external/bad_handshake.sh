#!/bin/sh
# A program that does not speak jsonl: it greets on stdout instead of
# answering `initialize`. The start must be refused, showing what it wrote.
echo "Welcome to the auth server"
exec cat >/dev/null
