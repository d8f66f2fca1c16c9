#!/usr/bin/env bash
# Start a throwaway single-node Ceph (1 mon, optional mgr, 1 osd) with a RADOS Gateway
# serving S3 on 127.0.0.1, for the S3 tests and benchmarks. Needs the Debian packages
# ceph-mon ceph-mgr ceph-osd radosgw ceph-common curl (see .ci/run). No systemd, no root
# files outside $BASE: everything (config, data, logs, pids) lives under $BASE.
#
# Env (defaults):  BASE=/tmp/megafs-ceph  RGW_PORT=40080  MON_PORT=40100  MS_PORT_MIN=40110
#   OBJECTSTORE=memstore|bluestore (memstore: data in RAM, fastest start; bluestore: sparse
#   file of OSD_SIZE)  OSD_SIZE=2G  WITH_MGR=0  ACCESS_KEY / SECRET_KEY (the S3 user's keys)
# On success writes $BASE/env (source it: S3_ENDPOINT, AWS_ACCESS_KEY_ID, ...) and
# $BASE/pids. Stop and wipe with scripts/ceph-s3-stop.sh (same BASE).
set -euo pipefail
BASE=${BASE:-/tmp/megafs-ceph}; IP=127.0.0.1
MON_PORT=${MON_PORT:-40100}; MS_PORT_MIN=${MS_PORT_MIN:-40110}; RGW_PORT=${RGW_PORT:-40080}
OBJECTSTORE=${OBJECTSTORE:-memstore}; OSD_SIZE=${OSD_SIZE:-2G}
ACCESS_KEY=${ACCESS_KEY:-megafsaccesskey}; SECRET_KEY=${SECRET_KEY:-megafssecretkey0123456789}
for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool curl; do
  command -v "$b" >/dev/null || { echo "ceph-s3-start: '$b' not found; install the packages in .ci/run" >&2; exit 2; }
done
T0=$(date +%s%N); ts() { echo "[$(( ($(date +%s%N)-T0)/1000000 )) ms] $*"; }
[ -e "$BASE/pids" ] && { echo "ceph-s3-start: $BASE/pids exists; run ceph-s3-stop.sh first" >&2; exit 1; }
rm -rf "$BASE"; mkdir -p "$BASE"/{run,log,mon.a,mgr.x,osd.0}
export CEPH_CONF=$BASE/ceph.conf
trap 'echo "ceph-s3-start: failed, logs in $BASE/log" >&2; cat "$BASE"/run/*.pid 2>/dev/null | xargs -r kill 2>/dev/null' ERR
FSID=$(cat /proc/sys/kernel/random/uuid); BYTES=$(numfmt --from=iec "$OSD_SIZE")
if [ "$OBJECTSTORE" = memstore ]; then
  STORE="osd objectstore = memstore
memstore device bytes = $BYTES"
else
  STORE="osd objectstore = bluestore
bluestore block create = true
bluestore block size = $BYTES
bluestore fsck on mount = false
osd memory target = 939524096"
fi
MONADDR="[v2:$IP:$MON_PORT,v1:$IP:$((MON_PORT+1))]"
# auth none keeps it simple on loopback; with it, clients hang unless
# "ms mon client mode = crc" (the default prefers secure mode, which needs cephx).
cat > "$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon host = $MONADDR
public addr = $IP
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind port min = $MS_PORT_MIN
ms bind port max = $((MS_PORT_MIN+89))
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
mon warn on insecure global id reclaim allowed = false
run dir = $BASE/run
admin socket = $BASE/run/\$name.asok
log file = $BASE/log/\$name.log
pid file = $BASE/run/\$name.pid
keyring = $BASE/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon max pg per osd = 1000
mon data = $BASE/mon.\$id
mgr data = $BASE/mgr.\$id
osd data = $BASE/osd.\$id
$STORE
osd op num shards = 2
[client.rgw.a]
rgw frontends = beast endpoint=$IP:$RGW_PORT
rgw thread pool size = 64
debug rgw = 0/0
CONF
ceph-authtool --create-keyring "$BASE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "$MONADDR" "$BASE/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$BASE/monmap" && ceph-mon -i a
ceph -s --connect-timeout 30 >/dev/null; ts "mon up"
[ "${WITH_MGR:-0}" = 1 ] && { ceph-mgr -i x; ts "mgr started"; }
OSD_UUID=$(cat /proc/sys/kernel/random/uuid); OSD_ID=$(ceph osd new "$OSD_UUID")
ceph-osd -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >"$BASE/log/osd-mkfs.log" 2>&1
ceph-osd -i "$OSD_ID"
timeout 60 bash -c 'until ceph osd stat 2>/dev/null | grep -q "1 up"; do sleep 0.2; done'; ts "osd up ($OBJECTSTORE)"
timeout 120 radosgw -n client.rgw.a      # forks into the background once connected; creates its pools
radosgw-admin user create --uid=megafs --display-name=megafs \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
timeout 120 bash -c "until curl -fsS -o /dev/null http://$IP:$RGW_PORT/; do sleep 0.2; done"; ts "rgw up"
cat "$BASE"/run/*.pid | tr '\n' ' ' > "$BASE/pids"
printf 'export S3_ENDPOINT=http://%s:%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=us-east-1 CEPH_CONF=%s\n' \
  "$IP" "$RGW_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$CEPH_CONF" > "$BASE/env"
ts "ready: source $BASE/env"
