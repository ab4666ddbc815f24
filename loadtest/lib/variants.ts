// The variants the load tests and the benchmark compare, one definition for the k6 scripts and the Node tools
// (no imports: both runtimes load it).

/** The two session setups: the shared Redis store behind round robin, and the sticky in-memory one. */
export type Variant = 'redis' | 'sticky';

/** The benchmark's variants: the two setups, and a baseline that never touches a session. */
export type BenchVariant = 'baseline' | Variant;
