#!/bin/sh
# tests/integration/packages_root.sh - the install step of test_packages.py,
# run as root inside `unshare --mount --net --fork`.
#
# /usr, /etc and /var become overlays on the machine's own, written in a
# tmpfs, so dpkg installs for real (dependencies checked against what this
# machine has, conffiles, scripts, triggers) and everything is gone when the
# namespace ends. tged alone is installed first and must check good; then
# all the packages, and the installed tgedd checks and serves the installed
# /etc/tged/tged.conf (in a network namespace of its own: 4745 on loopback
# is free, and as an unprivileged user, as its systemd unit runs it), the
# installed tged asks it, and dpkg purges the packages.
#
# Usage: packages_root.sh SCRATCH "PACKAGE..." tged.deb OTHER.deb...
# Each step's output follows a line "== STEP".
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
scratch=$1
names=$2
shift 2

mount -t tmpfs tmpfs "$scratch"
for d in usr etc var; do
    mkdir "$scratch/$d.up" "$scratch/$d.work"
    mount -t overlay overlay \
        -o "lowerdir=/$d,upperdir=$scratch/$d.up,workdir=$scratch/$d.work" "/$d"
done
mount -t tmpfs tmpfs /run
ip link set lo up

# A site installs only what it uses: tged alone must give a working
# responder on its own configuration. The first FILE.deb is tged's.
echo "== install-core"
dpkg -i "$1" 2>&1
echo "== check-core"
/usr/sbin/tgedd -t 2>&1 || echo "tgedd -t exited $?"

echo "== install"
dpkg -i "$@" 2>&1
echo "== installed"
# shellcheck disable=SC2086 # one word per package
dpkg-query -W -f '${Package} ${Status} ${Version}\n' $names
# shellcheck disable=SC2086
dpkg -L $names | sort -u | while read -r f; do
    if [ -f "$f" ] || [ -L "$f" ]; then echo "$f"; fi
done >"$scratch/owned"

echo "== plugins"
# Each packaged plugin loads into the installed tgedd, with its libraries.
grep '/tged/plugins/.*\.so$' "$scratch/owned" | while read -r so; do
    /usr/sbin/tgedd --check-plugin "$so" | head -n 1
done
echo "== check"
/usr/sbin/tgedd -t 2>&1
# As the unit runs it: not as root (DynamicUser=), with /run/tged its own
# (RuntimeDirectory=). Started as root, tgedd would refuse: the installed
# configuration names no responder.user.
mkdir /run/tged
chown nobody:nogroup /run/tged
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    /usr/sbin/tgedd -f 2>"$scratch/log" &
pid=$!
tries=0
until grep -q 'serving with' "$scratch/log"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "tgedd did not start:"
        cat "$scratch/log"
        exit 1
    fi
    sleep 0.1
done
echo "== ask"
/usr/bin/tged -s 127.0.0.1 -t 3 SQL
echo "== status"
/usr/bin/tged --status
kill "$pid"
status=0
wait "$pid" || status=$?
echo "== log"
cat "$scratch/log"
echo "tgedd exited $status"
[ "$status" -eq 0 ]

echo "== purge"
# shellcheck disable=SC2086
dpkg --purge $names 2>&1
echo "== purged"
left=$(while read -r f; do
    if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
done <"$scratch/owned")
if [ -e /etc/tged ]; then left="$left /etc/tged"; fi
echo "${left:-nothing left}"
