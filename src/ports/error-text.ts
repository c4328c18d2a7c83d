// The one way to turn anything thrown or emitted as an error into a log
// line's text. Node's own errors can come from another realm (jest's vm
// sandbox, worker threads), so `instanceof Error` is not a safe test: the
// message is read structurally.
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    const m = (err as { readonly message: unknown }).message;
    if (typeof m === 'string') return m;
  }
  return String(err);
}
