// A browser launch, a page load or a Redis container started for a test takes seconds on a loaded machine:
// tests and hooks get a minute unless told. (jest reads testTimeout from the global config only, not from a
// project's, so it is set here.)
jest.setTimeout(60_000);
