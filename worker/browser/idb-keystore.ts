/**
 * Device keys in the browser: a non-extractable Ed25519 CryptoKey stored in IndexedDB by
 * structured clone (idb-keyval). The private key cannot be read by script, only used to sign.
 */
import { get, set } from 'idb-keyval';
import { generateKeyPair, keyIdOf, publicKeyHexOf, type Anchor, type DeviceKeyPair, type KeyStore } from '../kernel/log/keys.ts';

interface StoredKey {
  readonly privateKey: CryptoKey;
  readonly publicKeyHex: string;
}

export function idbKeyStore(): KeyStore {
  const keyName = (deviceId: string) => `kingdom:device-key:${deviceId}`;
  return {
    kind: 'indexeddb',
    async loadAnchor(deviceId) {
      return (await get<Anchor>(`kingdom:checkpoint-anchor:${deviceId}`)) ?? null;
    },
    async saveAnchor(deviceId, anchor) {
      await set(`kingdom:checkpoint-anchor:${deviceId}`, anchor);
    },
    async load(deviceId) {
      const stored = await get<StoredKey>(keyName(deviceId));
      if (!stored) return null;
      return { privateKey: stored.privateKey, publicKeyHex: stored.publicKeyHex, keyId: keyIdOf(stored.publicKeyHex) };
    },
    async create(deviceId): Promise<DeviceKeyPair> {
      const pair = await generateKeyPair(false);
      const publicKeyHex = await publicKeyHexOf(pair.publicKey);
      await set(keyName(deviceId), { privateKey: pair.privateKey, publicKeyHex } satisfies StoredKey);
      return { privateKey: pair.privateKey, publicKeyHex, keyId: keyIdOf(publicKeyHex) };
    },
  };
}
