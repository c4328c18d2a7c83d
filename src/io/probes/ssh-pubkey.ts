// The host's ed25519 public key from `<private key path>.pub` (OpenSSH
// `ssh-ed25519 <base64 blob> comment`): the last 32 bytes of the blob.
import * as E from 'fp-ts/Either';
import { catchError, map, of, type Observable } from 'rxjs';
import { decodeBase64Strict } from '../../trust/keys';
import { readBounded } from './read-bounded';
import { errorMessage } from '../../ports/error-text';

export function parseOpenSshPublicKey(text: string, where: string): E.Either<string, Uint8Array> {
  const blobB64 = text.split(/\s+/).filter((t) => t.length > 0)[1];
  if (blobB64 === undefined) return E.left(`malformed host pubkey at ${where}`);
  const blob = decodeBase64Strict(blobB64);
  if (blob === null) return E.left('host pubkey base64 decode: invalid base64');
  if (blob.length < 32) return E.left(`host pubkey blob len ${blob.length} < 32`);
  return E.right(blob.subarray(blob.length - 32));
}

export function hostPublicKey(privateKeyPath: string): Observable<E.Either<string, Uint8Array>> {
  const pubPath = `${privateKeyPath}.pub`;
  return readBounded(pubPath, 64 * 1024).pipe(
    map((b) => parseOpenSshPublicKey(b.toString('utf8'), pubPath)),
    catchError((err: unknown) => of(E.left(`read host pubkey ${pubPath}: ${errorMessage(err)}`))),
  );
}
