import { keepStackSteady } from '../helpers/stack';
import { clusterInfo } from './cluster';

// Compose operations (start, wait for healthy) take tens of seconds: hooks and tests get two minutes.
jest.setTimeout(120_000);

keepStackSteady(clusterInfo);
