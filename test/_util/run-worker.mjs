// Worker entry: loads the TypeScript body through tsx (workers do not inherit the main thread's loader).
import { register } from 'tsx/esm/api';

register();
await import('./run-worker-body.ts');
