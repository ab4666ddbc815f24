// Files that must stop Redis start their own (test/helpers/redis-server.ts): with TEST_REDIS=docker that is
// a container, which takes seconds to start on a loaded machine. Tests and hooks get 30 s unless told; a
// test that waits on something never answering still fails, just later than jest's default 5 s.
jest.setTimeout(30_000);
