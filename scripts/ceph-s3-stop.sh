#!/usr/bin/env bash
# Stop the cluster that scripts/ceph-s3-start.sh started under $BASE (by its recorded
# pids only) and wipe $BASE (KEEP=1 keeps it for reading the logs).
BASE=${BASE:-/tmp/megafs-ceph}
PIDS=$(cat "$BASE"/run/*.pid 2>/dev/null)
[ -n "$PIDS" ] && kill $PIDS 2>/dev/null
for _ in $(seq 1 40); do
  alive=0; for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break; sleep 0.25
done
for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
[ "${KEEP:-0}" = 1 ] || rm -rf "$BASE"
exit 0
