// Compose operations (start, wait for healthy) take tens of seconds: hooks and tests get two minutes.
jest.setTimeout(120_000);
