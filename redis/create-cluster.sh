#!/bin/sh
# The redis-cluster profile's one-shot job: joins redis-node-1..6 into a cluster of three primaries with one
# replica each (redis-cli --cluster create), once. On later starts the nodes already form the cluster (their
# nodes.conf, in their volumes): it only waits until the cluster says ok. Authenticates with REDISCLI_AUTH.
set -eu

nodes="redis-node-1 redis-node-2 redis-node-3 redis-node-4 redis-node-5 redis-node-6"

if [ "$(redis-cli -h redis-node-1 cluster info | awk -F: '/^cluster_known_nodes:/ { print $2 }' | tr -d '\r')" = 1 ]; then
  # redis-cli --cluster create takes addresses, not names.
  addresses=""
  for node in $nodes; do
    addresses="$addresses $(getent hosts "$node" | awk '{ print $1; exit }'):6379"
  done
  # shellcheck disable=SC2086  # one argument per address
  redis-cli --cluster create $addresses --cluster-replicas 1 --cluster-yes
fi

for attempt in $(seq 1 60); do
  if redis-cli -h redis-node-1 cluster info | grep -q '^cluster_state:ok'; then
    echo "cluster ok after $attempt check(s)"
    exit 0
  fi
  sleep 1
done
echo "the cluster did not reach cluster_state:ok within 60 s" >&2
exit 1
