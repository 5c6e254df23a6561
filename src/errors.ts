// System errors: made by the system layer (src/sys/errors.ts), thrown by every layer above it.
export { addressError, errnoName, errorByName, type SystemError, systemError } from './sys/errors.js';
