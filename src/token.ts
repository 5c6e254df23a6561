// Token: the caller's identifier for a registration, returned exactly in each Event.
import { describe } from './interest.js';

/** Any safe non-negative integer, 0 to 2^53-1. */
export type Token = number;

/** Throws TypeError (not a number) or RangeError (negative, fractional, unsafe) for a bad token. */
export function validToken(t: unknown): Token {
  if (typeof t !== 'number') throw new TypeError(`token must be a number, got ${describe(t)}`);
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`token must be an integer from 0 to 2^53-1, got ${t}`);
  return t;
}
