// axios (with form-data and the rest it requires) is a large share of the
// daemon's module loading, so it is loaded at the first request: a first-boot
// enrollment's, before READY=1; on an enrolled host the boot-recovery
// heartbeat's, which waits for the current-closure read and so comes after.
import type * as Axios from 'axios';

let loaded: Axios.AxiosStatic | undefined;

export function axios(): Axios.AxiosStatic {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= (require('axios') as typeof Axios).default;
  return loaded;
}
