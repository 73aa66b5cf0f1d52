/**
 * Just enough DER (X.690) to write the certificates of x509.ts and to read a certificate's fields:
 * single-byte tags, definite lengths. Node can sign but not build X.509, and a few small encoders
 * are less than a library.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
  /** [n] EXPLICIT, and [n] IMPLICIT of a constructed type. */
  context: (n: number) => 0xa0 | n,
  /** [n] IMPLICIT of a primitive type (GeneralName's dNSName [2], iPAddress [7]). */
  contextPrimitive: (n: number) => 0x80 | n,
} as const;

export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const len = body.length;
  const lenBytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) lenBytes.unshift(n % 256);
  const header = len < 0x80 ? [tag, len] : [tag, 0x80 | lenBytes.length, ...lenBytes];
  return Buffer.concat([Buffer.from(header), body]);
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.sequence, ...items);

/** A non-negative INTEGER from big-endian bytes, minimally encoded (Go refuses leading zeros). */
export function unsigned(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  return tlv(TAG.integer, value[0]! & 0x80 ? Buffer.from([0]) : Buffer.alloc(0), value);
}

export function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first! + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes (a signature, a public key). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(TAG.bitString, Buffer.from([0]), bytes);

/** A named-bit BIT STRING (KeyUsage): trailing zero bits are not encoded (X.690 11.2.2). */
export function namedBits(bits: number[]): Buffer {
  const bytes = Buffer.alloc(Math.floor(Math.max(...bits) / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (!(last & (1 << unused))) unused++;
  return tlv(TAG.bitString, Buffer.from([unused]), bytes);
}

export const text = (tag: number, value: string): Buffer => tlv(tag, Buffer.from(value, 'utf8'));

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5); whole seconds, UTC. */
export function time(date: Date): Buffer {
  const digits = date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:T]/g, ''); // YYYYMMDDHHMMSSZ
  return date.getUTCFullYear() < 2050 ? text(TAG.utcTime, digits.slice(2)) : text(TAG.generalizedTime, digits);
}

/** One DER element read back: its tag, its content, and the whole encoding. */
export interface Element {
  tag: number;
  content: Buffer;
  der: Buffer;
}

export function read(der: Buffer, offset = 0): Element {
  if (offset + 2 > der.length) throw new Error('truncated DER');
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('not DER: indefinite or huge length');
    if (start + n > der.length) throw new Error('truncated DER');
    len = der.readUIntBE(start, n);
    start += n;
  }
  if (start + len > der.length) throw new Error('truncated DER');
  return { tag, content: der.subarray(start, start + len), der: der.subarray(offset, start + len) };
}

/** The elements inside a constructed element. */
export function children(parent: Element): Element[] {
  const out: Element[] = [];
  for (let pos = 0; pos < parent.content.length; pos += out[out.length - 1]!.der.length) out.push(read(parent.content, pos));
  return out;
}
