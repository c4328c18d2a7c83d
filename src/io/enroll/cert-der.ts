// The few certificate fields that Node's crypto.X509Certificate does not give
// in the form the agent has always used (those of @peculiar/x509, which is
// too slow to load for a start-up path): the serial as lowercase hex of its
// DER bytes, notBefore/notAfter to the millisecond, and the subject in the
// certificate's order with RFC 4514 escaping ("CN=web-01, O=Lab"). A strict
// minimal DER walk over tbsCertificate; anything unexpected throws.

export interface CertDerFields {
  readonly serial: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly subject: string;
}

interface Tlv {
  readonly tag: number;
  /** Offset of the first byte of the element (its tag). */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly body: number;
  /** Offset just past the content. */
  readonly end: number;
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new Error('truncated DER');
  const tag = der[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw new Error('unsupported DER tag');
  let len = der[pos + 1] as number;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[body + i] as number);
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new Error('truncated DER');
  return { tag, start: pos, body, end };
}

function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new Error(`unexpected DER in ${what}`);
  return t;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** @peculiar/x509's serialNumber: DER content bytes, the sign byte 00 dropped before a high bit. */
function serialHex(b: Uint8Array): string {
  return hex(b.length > 1 && b[0] === 0 && (b[1] as number) > 0x7f ? b.subarray(1) : b);
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/;

function timeMs(der: Uint8Array, t: Tlv): number {
  const s = latin1(der.subarray(t.body, t.end));
  let m: RegExpExecArray | null;
  let year: number;
  let millis = 0;
  if (t.tag === 0x17 && (m = UTC_TIME.exec(s)) !== null) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
  } else if (t.tag === 0x18 && (m = GENERALIZED_TIME.exec(s)) !== null) {
    year = Number(m[1]);
    if (m[7] !== undefined) millis = Math.floor(Number(`0.${m[7]}`) * 1000);
  } else {
    throw new Error(`unsupported certificate time ${JSON.stringify(s)}`);
  }
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), millis);
}

function oidString(b: Uint8Array): string {
  if (b.length === 0) throw new Error('empty OID');
  const arcs: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

// @peculiar/x509's short names.
const NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T',
};

function escapeValue(s: string): string {
  return s
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (c) => `\\${Buffer.from(c, 'utf8').toString('hex').toUpperCase()}`);
}

/** One attribute value as @peculiar/x509 prints it: a directory string, else `#` and the DER in hex. */
function attributeValue(der: Uint8Array, t: Tlv): string {
  const content = der.subarray(t.body, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return escapeValue(Buffer.from(content).toString('utf8'));
    case 0x13: // PrintableString
    case 0x14: // TeletexString
    case 0x16: // IA5String
      return escapeValue(latin1(content));
    case 0x1e: // BMPString (UTF-16BE)
      return escapeValue(Buffer.from(content).swap16().toString('utf16le'));
    case 0x1c: {
      // UniversalString (UTF-32BE)
      let s = '';
      for (let i = 0; i + 4 <= content.length; i += 4) s += String.fromCodePoint(Buffer.from(content).readUInt32BE(i));
      return escapeValue(s);
    }
    default:
      return `#${hex(der.subarray(t.start, t.end))}`;
  }
}

function nameString(der: Uint8Array, name: Tlv): string {
  const rdns: string[] = [];
  for (let p = name.body; p < name.end; ) {
    const set = expectTag(readTlv(der, p, name.end), 0x31, 'name');
    const atvs: string[] = [];
    for (let q = set.body; q < set.end; ) {
      const atv = expectTag(readTlv(der, q, set.end), 0x30, 'name');
      const type = expectTag(readTlv(der, atv.body, atv.end), 0x06, 'name');
      const value = readTlv(der, type.end, atv.end);
      const oid = oidString(der.subarray(type.body, type.end));
      atvs.push(`${NAMES[oid] ?? oid}=${attributeValue(der, value)}`);
      q = atv.end;
    }
    rdns.push(atvs.join('+'));
    p = set.end;
  }
  return rdns.join(', ');
}

/** Reads serial, validity and subject from a DER certificate. */
export function readCertDer(der: Uint8Array): CertDerFields {
  const cert = expectTag(readTlv(der, 0, der.length), 0x30, 'certificate');
  const tbs = expectTag(readTlv(der, cert.body, cert.end), 0x30, 'tbsCertificate');
  let t = readTlv(der, tbs.body, tbs.end);
  if (t.tag === 0xa0) t = readTlv(der, t.end, tbs.end); // [0] version
  const serial = expectTag(t, 0x02, 'serial number');
  const sigAlg = expectTag(readTlv(der, serial.end, tbs.end), 0x30, 'signature algorithm');
  const issuer = expectTag(readTlv(der, sigAlg.end, tbs.end), 0x30, 'issuer');
  const validity = expectTag(readTlv(der, issuer.end, tbs.end), 0x30, 'validity');
  const notBefore = readTlv(der, validity.body, validity.end);
  const notAfter = readTlv(der, notBefore.end, validity.end);
  const subject = expectTag(readTlv(der, validity.end, tbs.end), 0x30, 'subject');
  return {
    serial: serialHex(der.subarray(serial.body, serial.end)),
    notBeforeMs: timeMs(der, notBefore),
    notAfterMs: timeMs(der, notAfter),
    subject: nameString(der, subject),
  };
}
