/**
 * The publishing side of realm files (the app's "Publish" and scripts/realm-publish.ts use it):
 * a root file from signing keys, a signed index envelope, a publisher's key-rotation note.
 *
 * Invariant: what this writes is exactly what trust.ts accepts (the tests sign with this and
 * verify with that); the index is validated before it is signed, so no one signs a file the
 * clients would refuse as malformed.
 */
import { INDEX_FORMAT, INDEX_PAYLOAD_TYPE, ROOT_FORMAT, indexSchema, type Envelope, type RealmIndex, type RealmRoot, type Rotation } from './format.ts';
import { keyIdOf, rotationMessage, signBytes, signEnvelope } from './signing.ts';

export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicKeyHex: string;
}

/** A new Ed25519 signing key (extractable only when asked, to be written to a key file). */
export async function newSigningKey(extractable = false): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, extractable, ['sign', 'verify'])) as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { privateKey: pair.privateKey, publicKeyHex: [...raw].map((b) => b.toString(16).padStart(2, '0')).join('') };
}

export function buildRoot(realm: string, keys: readonly SigningKey[], threshold = 1): RealmRoot {
  return {
    format: ROOT_FORMAT,
    realm,
    keys: keys.map((k) => ({ keyId: keyIdOf(k.publicKeyHex), publicKey: k.publicKeyHex, algorithm: 'Ed25519' as const })),
    threshold,
  };
}

/** The index as clients read it, validated, then signed by each key. */
export async function signIndex(index: Omit<RealmIndex, 'format'> & { format?: RealmIndex['format'] }, keys: readonly SigningKey[]): Promise<Envelope> {
  const checked = indexSchema.parse({ ...index, format: INDEX_FORMAT });
  return signEnvelope(INDEX_PAYLOAD_TYPE, new TextEncoder().encode(JSON.stringify(checked)), keys);
}

/** A note handing `kata` from the publisher key `from` to the public key `toHex`. */
export async function rotationNote(kata: string, from: SigningKey, toHex: string): Promise<Rotation> {
  return { kata, from: from.publicKeyHex, to: toHex, sig: await signBytes(from.privateKey, rotationMessage(kata, from.publicKeyHex, toHex)) };
}
