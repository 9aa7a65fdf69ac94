#!/bin/sh
# An extauth program that cannot start (a missing database, a typo): the
# server must refuse to start and show this line.
echo "extauth: cannot open /nonexistent/users.db: No such file or directory" >&2
exit 1
