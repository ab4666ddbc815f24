import type { z } from 'zod';
import { HttpError } from './errors';

/** Parses a request body or path parameter against a schema; a mismatch is a 400 naming each problem. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, what = 'body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    path: issue.path.join('.') || what,
    message: issue.message,
  }));
  const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  throw new HttpError(400, `invalid_${what}`, `invalid ${what}: ${summary}`, problems);
}
