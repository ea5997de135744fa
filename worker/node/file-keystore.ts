/**
 * A KeyStore for Node that keeps the device's Ed25519 private key in a file next to the database
 * (PKCS#8, mode 0600). Node has no non-extractable storage across processes, so the key is
 * exported once to disk and re-imported as non-extractable for use.
 */
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { generateKeyPair, keyIdOf, publicKeyHexOf, type Anchor, type DeviceKeyPair, type KeyStore } from '../kernel/log/keys.ts';

interface KeyFile {
  readonly deviceId: string;
  readonly pkcs8: string;
  readonly publicKey: string;
}

export function fileKeyStore(path: string): KeyStore {
  return {
    kind: 'file',
    // The anchor lives in its own small file beside the key (written atomically by rename).
    async loadAnchor(deviceId) {
      const file = `${path}.anchor.json`;
      if (!existsSync(file)) return null;
      const a = JSON.parse(readFileSync(file, 'utf8')) as Anchor & { deviceId: string };
      return a.deviceId === deviceId ? { deviceSeq: a.deviceSeq, headHash: a.headHash } : null;
    },
    async saveAnchor(deviceId, anchor) {
      const file = `${path}.anchor.json`;
      writeFileSync(`${file}.tmp`, JSON.stringify({ deviceId, ...anchor }));
      renameSync(`${file}.tmp`, file);
    },
    async load(deviceId) {
      if (!existsSync(path)) return null;
      const f = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
      if (f.deviceId !== deviceId) return null;
      const privateKey = await crypto.subtle.importKey('pkcs8', Buffer.from(f.pkcs8, 'base64'), { name: 'Ed25519' }, false, ['sign']);
      return { privateKey, publicKeyHex: f.publicKey, keyId: keyIdOf(f.publicKey) };
    },
    async create(deviceId): Promise<DeviceKeyPair> {
      const pair = await generateKeyPair(true);
      const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', pair.privateKey)).toString('base64');
      const publicKey = await publicKeyHexOf(pair.publicKey);
      const tmp = `${path}.tmp`;
      writeFileSync(tmp, JSON.stringify({ deviceId, pkcs8, publicKey } satisfies KeyFile), { mode: 0o600 });
      renameSync(tmp, path);
      const privateKey = await crypto.subtle.importKey('pkcs8', Buffer.from(pkcs8, 'base64'), { name: 'Ed25519' }, false, ['sign']);
      return { privateKey, publicKeyHex: publicKey, keyId: keyIdOf(publicKey) };
    },
  };
}
