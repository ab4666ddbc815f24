import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { isStoreUnavailableError } from '../../app/src/redis';

/** The messages ioredis produces when Redis cannot be reached (or cannot serve writes). */
const ioredisError = (message: string): Error => new Error(message);
const replyError = (message: string): Error => new ReplyError(message) as Error;

describe('isStoreUnavailableError', () => {
  test.each([
    ['a command timeout', ioredisError('Command timed out')],
    ['a closed connection', ioredisError('Connection is closed.')],
    ['an unwritable stream', ioredisError("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a refused connection', ioredisError('connect ECONNREFUSED 127.0.0.1:6379')],
    ['a reset connection', ioredisError('read ECONNRESET')],
    ['a connect timeout', ioredisError('connect ETIMEDOUT')],
    ['a broken pipe', ioredisError('write EPIPE')],
    ['a read-only replica', replyError("READONLY You can't write against a read only replica.")],
    ['a loading server', replyError('LOADING Redis is loading the dataset in memory')],
    ['no reachable Sentinel', ioredisError('All sentinels are unreachable. Retrying from scratch after 200ms.')],
    ['exhausted retries', new MaxRetriesPerRequestError(1)],
    ['too few replicas for min-replicas-to-write', replyError('NOREPLICAS Not enough good replicas to write.')],
    ['a slot moved (a durable write on a Redis Cluster)', replyError('MOVED 3999 127.0.0.1:6381')],
    ['a slot being migrated', replyError('ASK 3999 127.0.0.1:6381')],
  ])('when the error is %s, then the store is unavailable', (_what, err) => {
    expect(isStoreUnavailableError(err)).toBe(true);
  });

  test.each([
    ['a plain Error', new Error('something broke')],
    ['a script error', replyError('ERR Error running script (call to f_1234): user_script:1: bad argument')],
    ['a wrong-type reply', replyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a TypeError', new TypeError('Cannot read properties of undefined')],
  ])('when the error is %s, then it is not an outage', (_what, err) => {
    expect(isStoreUnavailableError(err)).toBe(false);
  });

  test.each([
    ['a string', 'ECONNREFUSED'],
    ['null', null],
    ['an object with a message', { message: 'Connection is closed.' }],
  ])('when the thrown value is %s, then it is not an outage', (_what, value) => {
    expect(isStoreUnavailableError(value)).toBe(false);
  });
});
