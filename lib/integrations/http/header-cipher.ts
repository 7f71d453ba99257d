import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidHttpTargetError } from './http-target.errors';

/** An AES-256 key: 32 bytes, as a Buffer or base64 text, with an id stored beside each value. */
export interface HttpTargetKey {
  /** 1 to 32 of `A-Z a-z 0-9 _ . -`; stored in every envelope so that keys can rotate. */
  id: string;
  key: Buffer | string;
}

/** Whose header a value is: the envelope is bound to it (AES-GCM additional data). */
export interface HeaderOwner {
  tenantId: string;
  scheduleId: string;
  header: string;
}

const PREFIX = 'rsenc:v1:';
const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const ENVELOPE =
  /^rsenc:v1:([A-Za-z0-9_.-]{1,32}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/;

/**
 * Encrypts header values at rest with AES-256-GCM. Envelope (one string, stored in place of the
 * value): `rsenc:v1:<key id>:<iv>:<ciphertext>:<tag>`, the last three base64url (a random 12-byte
 * IV, a 16-byte tag), with `<tenantId>\n<scheduleId>\n<lower-case header name>` as additional
 * data, so that a value decrypts only as the header of the schedule it was written for. The first
 * key encrypts; every key decrypts (rotation: put the new key first, keep the old ones until every
 * schedule was upserted again).
 */
export class HeaderCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly current: string;

  /** Throws `problem(reason)` for a key that cannot be used. */
  constructor(keys: readonly HttpTargetKey[], problem: (reason: string) => Error) {
    for (const { id, key } of keys) {
      if (typeof id !== 'string' || !KEY_ID.test(id)) {
        throw problem(`key id ${JSON.stringify(id)} must be 1 to 32 of A-Z a-z 0-9 _ . -`);
      }
      const bytes = Buffer.isBuffer(key) ? key : Buffer.from(String(key), 'base64');
      if (bytes.length !== 32) {
        throw problem(`key "${id}" must be 32 bytes (a Buffer, or base64 text of 32 bytes)`);
      }
      if (this.keys.has(id)) throw problem(`key id "${id}" is given twice`);
      this.keys.set(id, bytes);
    }
    if (keys.length === 0) throw problem('give at least one key');
    this.current = keys[0].id;
  }

  static isEnvelope(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  encrypt(value: string, owner: HeaderOwner): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.current) as Buffer, iv);
    cipher.setAAD(additionalData(owner));
    const text = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const parts = [iv, text, cipher.getAuthTag()].map((b) => b.toString('base64url'));
    return `${PREFIX}${this.current}:${parts.join(':')}`;
  }

  /** The value of an envelope; throws InvalidHttpTargetError (naming the header, never a value). */
  decrypt(envelope: string, owner: HeaderOwner): string {
    const field = `headers.${owner.header}`;
    const match = ENVELOPE.exec(envelope);
    if (!match) throw new InvalidHttpTargetError(field, 'it is not a valid encrypted value');
    const [, id, iv, text, tag] = match;
    const key = this.keys.get(id);
    if (!key) {
      throw new InvalidHttpTargetError(
        field,
        `it is encrypted with key "${id}", which is not configured`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(additionalData(owner));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plain = Buffer.concat([
        decipher.update(Buffer.from(text, 'base64url')),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch {
      throw new InvalidHttpTargetError(
        field,
        `its encrypted value does not authenticate with key "${id}" for this schedule`,
      );
    }
  }
}

function additionalData(owner: HeaderOwner): Buffer {
  return Buffer.from(`${owner.tenantId}\n${owner.scheduleId}\n${owner.header.toLowerCase()}`);
}
