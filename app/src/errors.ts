/** The one error shape: `{ error: code, message }` with an HTTP status. Handlers just throw it. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const unauthorized = (code: 'no_session' | 'session_expired' | 'session_revoked' | 'invalid_credentials' | 'reauth_required', message: string) =>
  new HttpError(401, code, message);
