// Facts about the host the graph reads, and the client certificate's life.
import type { Observable } from 'rxjs';
import type { Timestamp } from '../codecs/timestamp';

export interface HostPort {
  /** Basename of `/run/current-system`'s target; undefined when unreadable. Never errors. */
  currentClosure(): Observable<string | undefined>;
}

export interface CertValidity {
  readonly notBefore: Timestamp;
  readonly notAfter: Timestamp;
}

export interface CertPort {
  /** Validity of the client certificate on disk; errors when it cannot be read. */
  validity(): Observable<CertValidity>;
  /** `POST /v1/agent/renew` with a CSR from the host key; the new cert replaces the old atomically. */
  renew(): Observable<CertValidity>;
}
