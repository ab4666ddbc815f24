import { keepStackSteady } from '../helpers/stack';
import { faultsInfo } from './faults';

// Every scenario breaks something and waits for the stack to mend: hooks get three minutes unless told.
jest.setTimeout(180_000);

keepStackSteady(faultsInfo);
