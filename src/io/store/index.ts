// The real durable store (docs/store.md): SQLite under --state-dir.
export { AgentStore, type AgentStoreOptions } from './agent-store';
export { storePort } from './port';
export { HELD_CAPACITY, Outbox, type OutboxStats } from './outbox';
export { DB_FILE_NAME } from './open';
export { DEFAULT_LIMITS, type StoreLimits } from './limits';
export { SCHEMA_VERSION, type Migration } from './schema';
