#!/bin/bash
# A mod_auth_external script as Prosody's documentation shows it (the
# "generic" line protocol): one "cmd:user:host[:password]" per line, the
# answer "1" or "0" on a line. With IFS=":" the last variable of `read`
# keeps the rest of the line, so a password may contain ':'.
IFS=":"
while read -r ACTION USER HOST PASS; do
  case "$ACTION" in
    auth)
      if { [ "$USER" = "alice" ] && [ "$PASS" = "pw" ]; } \
         || { [ "$USER" = "colon" ] && [ "$PASS" = "a:b€c" ]; }; then
        echo 1
      else
        echo 0
      fi
      ;;
    isuser)
      case "$USER" in alice|colon) echo 1 ;; *) echo 0 ;; esac
      ;;
    *)
      echo 0
      ;;
  esac
done
