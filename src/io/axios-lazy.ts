// axios (with form-data and the rest it requires) is a large share of the
// daemon's module loading, and no request is made before READY=1: it is
// loaded at the first request (the CP transport's or an HTTP probe's).
import type * as Axios from 'axios';

let loaded: Axios.AxiosStatic | undefined;

export function axios(): Axios.AxiosStatic {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= (require('axios') as typeof Axios).default;
  return loaded;
}
