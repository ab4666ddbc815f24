// The variants the load tests and the benchmark compare, one definition for the k6 scripts and the Node tools
// (no imports: both runtimes load it).

/**
 * The session setups: the shared Redis store (primary, replica, Sentinel) behind round robin, the sticky
 * in-memory one, and the shared store on a Redis Cluster (the redis-cluster profile).
 */
export type Variant = 'redis' | 'sticky' | 'cluster';

/** The benchmark's variants: the two setups, and a baseline that never touches a session. */
export type BenchVariant = 'baseline' | Variant;
