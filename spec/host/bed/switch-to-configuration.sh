#!/bin/sh
# NixOS's switch-to-configuration in miniature, for the real-host test bed:
# the same lock; units whose file changed stopped, the closure's unit files
# installed, daemon-reload, /run/current-system, then the stopped and the new
# units started — the agent's own unit included. `boot` only records the
# closure as the next boot's (the profile is what the agent already set).
set -eu
action=${1:-}
# Every step also goes to /run/nixos/switch.log, prefixed with the unit this
# runs in, for the bed to read (journald's per-unit view is not reliable on
# hybrid cgroups).
unit=$(sed -n 's|^[0-9]*:name=systemd:.*/||p; s|^0::.*/||p' /proc/self/cgroup | head -n 1)
say() { echo "$*"; mkdir -p /run/nixos; echo "${unit:-?}: $*" >> /run/nixos/switch.log; }
top=$(readlink -f "$0")
top=${top%/bin/switch-to-configuration}
mkdir -p /run/nixos
exec 9>>/run/nixos/switch-to-configuration.lock
if ! flock -n -x 9; then say "Could not acquire lock" >&2; exit 1; fi
say "switch-to-configuration $action $top"
case "$action" in
  boot) ln -sfn "$top" /run/nixos/next-boot.tmp && mv -T /run/nixos/next-boot.tmp /run/nixos/next-boot; exit 0 ;;
  switch|test) ;;
  *) echo "usage: switch-to-configuration switch|boot|test" >&2; exit 100 ;;
esac
pre=$(cat "$top/pre-switch-delay")
if [ "$pre" != 0 ]; then say "preparing (${pre}s)"; sleep "$pre"; fi
units=/etc/systemd/system
added=""
changed=""
for f in "$top"/etc/systemd/system/*; do
  n=${f##*/}
  if [ ! -e "$units/$n" ]; then added="$added $n"
  elif ! cmp -s "$f" "$units/$n"; then changed="$changed $n"; fi
done
# NixOS's default for a changed unit (stopIfChanged): stopped before the
# activation, started after it — the agent's own unit included.
for n in $changed; do
  say "stopping $n"; t0=$(date +%s%3N); systemctl stop "$n"; say "stopped $n (took $(( $(date +%s%3N) - t0 )) ms)"
done
for f in "$top"/etc/systemd/system/*; do
  n=${f##*/}
  cp "$f" "$units/.$n.tmp" && mv -f "$units/.$n.tmp" "$units/$n"
done
mkdir -p "$units/multi-user.target.wants"
while read -r n; do ln -sfn "../$n" "$units/multi-user.target.wants/$n"; done < "$top/wanted-by-multi-user"
systemctl daemon-reload
ln -sfn "$top" /run/nixos/current-system.tmp && mv -T /run/nixos/current-system.tmp /run/current-system
for n in $changed; do say "starting $n"; systemctl start "$n"; done
for n in $added; do say "starting $n"; systemctl start --no-block "$n"; done
delay=$(cat "$top/post-restart-delay")
if [ "$delay" != 0 ]; then say "finishing (${delay}s)"; sleep "$delay"; fi
say "switched to $top"
