// Kept only for src/devcp (cli.ts, host-keys.ts), which is being split
// elsewhere; the helper is src/ports/error-text.ts. Delete with those imports.
export { errorMessage } from '../../ports/error-text';
