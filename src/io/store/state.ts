// The agent's small state kept beside the queue, so that one transaction
// log covers all of it: the last closure the CP confirmed, verified manifests
// (opaque bytes; the trust layer verified them before storing), and the
// metadata of the client certificate.
import type Database from 'better-sqlite3';
import { StoreError, type CachedManifest, type CertificateMeta, type ConfirmedClosure, type RolloutRecordRow } from '../../ports/store';
import type { StoreLimits } from './limits';
import { requireText } from './outbound-table';

interface ManifestRow {
  rollout_id: string;
  raw: Buffer;
  signature: Buffer;
  verified_at: string;
}

interface CertRow {
  serial: string;
  fingerprint: string;
  not_before: string;
  not_after: string;
}

// better-sqlite3 binds Buffers as blobs; this view shares the caller's memory.
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class StateTables {
  private readonly q;
  private readonly putManifestTx;
  private readonly saveRolloutsTx;

  constructor(
    db: Database.Database,
    private readonly limits: StoreLimits,
  ) {
    this.q = {
      closure: db.prepare<[], ConfirmedClosure>('SELECT closure, confirmed_at AS confirmedAt FROM confirmed_closure WHERE id = 1'),
      setClosure: db.prepare<[string, string]>(
        `INSERT INTO confirmed_closure (id, closure, confirmed_at) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET closure = excluded.closure, confirmed_at = excluded.confirmed_at`,
      ),
      manifest: db.prepare<[string], ManifestRow>('SELECT rollout_id, raw, signature, verified_at FROM manifest WHERE rollout_id = ?'),
      // REPLACE gives the row a new rowid, so rowid order = least recently stored
      putManifest: db.prepare<[string, Buffer, Buffer, string]>(
        'INSERT OR REPLACE INTO manifest (rollout_id, raw, signature, verified_at) VALUES (?, ?, ?, ?)',
      ),
      pruneManifests: db.prepare<[number]>(
        'DELETE FROM manifest WHERE rowid NOT IN (SELECT rowid FROM manifest ORDER BY rowid DESC LIMIT ?)',
      ),
      cert: db.prepare<[], CertRow>('SELECT serial, fingerprint, not_before, not_after FROM certificate WHERE id = 1'),
      setCert: db.prepare<[string, string, string, string]>(
        `INSERT INTO certificate (id, serial, fingerprint, not_before, not_after) VALUES (1, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET serial = excluded.serial, fingerprint = excluded.fingerprint,
           not_before = excluded.not_before, not_after = excluded.not_after`,
      ),
    };
    const clearRollouts = db.prepare('DELETE FROM rollout_record');
    const putRollout = db.prepare<[string, string, string, string | null]>('INSERT INTO rollout_record (rollout_id, record, updated_at, signed_intent) VALUES (?, ?, ?, ?)');
    this.rolloutRows = db.prepare<[], RolloutRecordRow & { signedIntent: string | null }>(
      'SELECT rollout_id AS rolloutId, record, updated_at AS updatedAt, signed_intent AS signedIntent FROM rollout_record ORDER BY rowid',
    );
    this.saveRolloutsTx = db.transaction((rows: readonly RolloutRecordRow[]) => {
      clearRollouts.run();
      for (const r of rows) putRollout.run(r.rolloutId, r.record, r.updatedAt, r.signedIntent ?? null);
    });
    this.putManifestTx = db.transaction((m: CachedManifest) => {
      this.q.putManifest.run(m.rolloutId, asBuffer(m.raw), asBuffer(m.signature), m.verifiedAt);
      this.q.pruneManifests.run(this.limits.maxCachedManifests);
    });
  }

  private readonly rolloutRows;

  saveRollouts(rows: readonly RolloutRecordRow[]): void {
    if (rows.length > this.limits.maxRolloutRecords) {
      throw new StoreError('too-large', `${rows.length} rollout records, over ${this.limits.maxRolloutRecords}`);
    }
    for (const r of rows) {
      requireText('rolloutId', r.rolloutId);
      requireText('record', r.record);
      requireText('updatedAt', r.updatedAt);
    }
    this.saveRolloutsTx(rows);
  }

  rollouts(): RolloutRecordRow[] {
    return this.rolloutRows.all().map(({ signedIntent, ...row }) => (signedIntent === null ? row : { ...row, signedIntent }));
  }

  lastConfirmedClosure(): ConfirmedClosure | undefined {
    const row = this.q.closure.get();
    return row && { closure: row.closure, confirmedAt: row.confirmedAt };
  }

  confirmClosure(c: ConfirmedClosure): void {
    requireText('closure', c.closure);
    requireText('confirmedAt', c.confirmedAt);
    this.q.setClosure.run(c.closure, c.confirmedAt);
  }

  manifest(rolloutId: string): CachedManifest | undefined {
    const row = this.q.manifest.get(rolloutId);
    return row && { rolloutId: row.rollout_id, raw: row.raw, signature: row.signature, verifiedAt: row.verified_at };
  }

  putManifest(m: CachedManifest): void {
    requireText('rolloutId', m.rolloutId);
    requireText('verifiedAt', m.verifiedAt);
    const size = m.raw.byteLength + m.signature.byteLength;
    if (size > this.limits.maxManifestBytes) {
      throw new StoreError('too-large', `manifest for ${m.rolloutId} is ${size} bytes, over ${this.limits.maxManifestBytes}`);
    }
    this.putManifestTx(m);
  }

  certificate(): CertificateMeta | undefined {
    const row = this.q.cert.get();
    return row && { serial: row.serial, fingerprint: row.fingerprint, notBefore: row.not_before, notAfter: row.not_after };
  }

  putCertificate(c: CertificateMeta): void {
    requireText('serial', c.serial);
    requireText('fingerprint', c.fingerprint);
    requireText('notBefore', c.notBefore);
    requireText('notAfter', c.notAfter);
    this.q.setCert.run(c.serial, c.fingerprint, c.notBefore, c.notAfter);
  }
}
