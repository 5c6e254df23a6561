// System errors: made by the system layer (src/sys/errors.ts), thrown by every layer above it.
export { errnoName, systemError, addressError, errorByName, type SystemError } from './sys/errors.js';
