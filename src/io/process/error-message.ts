// Node's own errors come from another realm under jest's vm sandbox, so
// `instanceof Error` is not a safe test; read `message` structurally.
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}
