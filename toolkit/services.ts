// The compose file's services, by role (docker-compose.yml): one list each, for every tool that drives the stack.

export const APP_SERVICES = ['app-1', 'app-2', 'app-3'];
export const STICKY_SERVICES = ['sticky-1', 'sticky-2', 'sticky-3'];
/**
 * The Sentinel-managed Redis nodes, in the order Sentinel prefers them for promotion (redis/replica-2.conf
 * gives the last a higher replica-priority: it is promoted only when neither other node can be).
 */
export const REDIS_NODES = ['redis-primary', 'redis-replica', 'redis-replica-2'];
/**
 * Each Sentinel-managed node's port (redis/primary.conf, replica.conf, replica-2.conf): one of its own, so
 * that an address Sentinel remembers for one node never reaches another (redis/replica.conf says why).
 */
export const REDIS_NODE_PORTS: Readonly<Record<string, number>> = { 'redis-primary': 6379, 'redis-replica': 6380, 'redis-replica-2': 6381 };
/** `host:port` of a Sentinel-managed node, as Sentinel and the apps name it. */
export const nodeAddress = (node: string): string => `${node}:${REDIS_NODE_PORTS[node] ?? 6379}`;
export const SENTINEL_SERVICES = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
export const REDIS_SERVICES = [...REDIS_NODES, ...SENTINEL_SERVICES];
/** The default profile: the Redis variant alone. */
export const REDIS_VARIANT_SERVICES = [...REDIS_SERVICES, ...APP_SERVICES, 'nginx'];
/** Both variants: the default profile and `sticky`. */
export const ALL_SERVICES = [...REDIS_VARIANT_SERVICES, ...STICKY_SERVICES, 'nginx-sticky'];

/** The redis-cluster profile: a Redis Cluster of six nodes (three primaries, three replicas), its apps and nginx. */
export const CLUSTER_NODES = ['redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-node-4', 'redis-node-5', 'redis-node-6'];
export const CLUSTER_APP_SERVICES = ['cluster-app-1', 'cluster-app-2', 'cluster-app-3'];
export const CLUSTER_VARIANT_SERVICES = [...CLUSTER_NODES, ...CLUSTER_APP_SERVICES, 'nginx-cluster'];
