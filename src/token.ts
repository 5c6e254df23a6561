// Token: the caller's identifier for a registration, returned exactly in each Event.
import { argTypeError, outOfRangeError } from './validators.js';

/** Any safe non-negative integer, 0 to 2^53-1. */
export type Token = number;

/** Throws TypeError (not a number) or RangeError (negative, fractional, unsafe) for a bad token. */
export function validToken(t: unknown): Token {
  if (typeof t !== 'number') throw argTypeError('token', 'of type number', t);
  if (!Number.isSafeInteger(t) || t < 0) throw outOfRangeError('token', 'an integer >= 0 && <= 2^53-1', t);
  return t;
}
