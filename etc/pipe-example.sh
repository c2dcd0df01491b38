#!/bin/sh
# etc/pipe-example.sh - an example backend for tged's pipe plugin, in POSIX sh.
#
# tgedd starts it and asks it questions on its stdin; it answers on its
# stdout, one line at a time (the protocol: docs/backends/pipe.md). To use it:
#
#   backends = (
#     { name = "example"; module = "pipe"; command = [ "pipe-example.sh" ]; }
#   );
#
# It serves three types and says not-mine for every other:
#   SQL      two database servers, fixed records
#   UPTIME   this machine's name and uptime, read at each request
#   GREETING a record made from the request's NAME filter
#
# Try it by hand: printf 'TGED-PIPE 1\nQ 1 SQL\n\n' | sh etc/pipe-example.sh
#
# SPDX-License-Identifier: MIT

# Write each argument as one line. printf, not echo: some shells' echo
# rewrites backslashes.
say() {
    printf '%s\n' "$@"
}

# The version line: "TGED-PIPE 1" in, "OK 1" out (or "ERROR why").
IFS= read -r hello || exit 0
if [ "$hello" != "TGED-PIPE 1" ]; then
    say "ERROR pipe-example.sh speaks pipe protocol 1, not: $hello"
    exit 1
fi
say "OK 1"

# One request at a time: "Q <id> <TYPE>", then "F <NAME> <value>" lines (the
# filters, names in upper case), then an empty line. The loop ends when
# tgedd closes our stdin, which is how it asks us to stop.
while IFS=' ' read -r tag id type; do
    if [ "$tag" != Q ]; then
        say "pipe-example.sh: unexpected line: $tag $id $type" >&2
        exit 1
    fi
    name=
    while IFS=' ' read -r f fname value && [ -n "$f" ]; do
        # Filters tgedd applies itself to the records we answer: a backend
        # reads them only to do less work, or to make a record to measure.
        if [ "$fname" = NAME ]; then
            name=$value
        fi
    done
    case $type in
    SQL)
        say "R $id" "F HOST db1" "F IP 192.168.0.34" "F PORT 5432" \
            "F ROLE primary"
        say "R $id" "F HOST db2" "F IP 192.168.0.35" "F PORT 5432" \
            "F ROLE standby"
        say "END $id found"
        ;;
    UPTIME)
        seconds=
        if [ -r /proc/uptime ]; then
            read -r seconds _ </proc/uptime
            seconds=${seconds%%.*}
        fi
        if [ -n "$seconds" ]; then
            say "R $id" "F HOST $(uname -n)" "F SECONDS $seconds" \
                "END $id found"
        else
            say "END $id failed"
        fi
        ;;
    GREETING)
        if [ -n "$name" ]; then
            say "R $id" "F NAME $name" "F TEXT hello, $name" "END $id found"
        else
            say "END $id no-match"
        fi
        ;;
    *)
        say "END $id not-mine"
        ;;
    esac
done
