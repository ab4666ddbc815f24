/** The JSON API as the page reads it: the server's own definitions. */
export type * from '../src/http-contract';
