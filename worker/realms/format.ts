/**
 * The files a realm serves (docs/realms.md): a root file naming the realm's signing keys, and one
 * signed index (a DSSE envelope whose payload lists every kata version with its pack's SHA-256).
 * Packs are stored under their SHA-256 and are not described here (see pack.ts).
 *
 *   /realm-root.json   { format: 'kingdom.realm-root/1', realm, keys: [{ keyId, publicKey }], threshold }
 *   /index.json        { payloadType, payload: base64(JSON of RealmIndex), signatures: [{ keyid, sig }] }
 *   /packs/<sha256>    the pack bytes
 *
 * Invariants:
 * 1. Every schema is strict (unknown keys are refused) and bounded (string lengths, list sizes),
 *    so a hostile file is a typed refusal, never a crash or an unbounded allocation.
 * 2. Hex is lowercase; key ids are the first 16 hex digits of the SHA-256 of the raw public key
 *    (as device keys: worker/kernel/log/keys.ts).
 */
import '../kernel/zod-setup.ts';
import { z } from 'zod';

export const ROOT_FORMAT = 'kingdom.realm-root/1';
export const INDEX_FORMAT = 'kingdom.realm-index/1';
export const INDEX_PAYLOAD_TYPE = 'application/vnd.kingdom.realm-index+json';

/** Bytes of an index payload (decoded) at most: 8 MiB. */
export const MAX_INDEX_BYTES = 8 * 1024 * 1024;
/** Bytes of one pack at most: 32 MiB. */
export const MAX_PACK_BYTES = 32 * 1024 * 1024;
export const MAX_INDEX_ENTRIES = 10_000;

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `must be ${length} lowercase hex digits`);
export const sha256Hex = hex(64);
export const publicKeyHex = hex(64);
export const keyIdHex = hex(16);
const signatureHex = hex(128);
const isoTime = z.string().max(40).refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');
const shortText = (max: number) => z.string().min(1).max(max);

/** A realm's name: `team-tools`, `central`. */
export const realmName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and dashes, starting with a letter');
/** A kata's name: dotted lowercase words, `finance.audit`, `deploy-service`. */
export const kataName = z.string().regex(/^[a-z][a-z0-9_-]{0,63}(?:\.[a-z][a-z0-9_-]{0,63}){0,3}$/, 'must be lowercase words separated by dots, e.g. finance.audit');
export const semver = z.string().max(64).regex(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/, 'must be a version like 1.2.0');

export const rootSchema = z.strictObject({
  format: z.literal(ROOT_FORMAT),
  realm: realmName,
  keys: z.array(z.strictObject({ keyId: keyIdHex, publicKey: publicKeyHex, algorithm: z.literal('Ed25519') })).min(1).max(8),
  /** How many distinct root keys must sign the index. */
  threshold: z.number().int().min(1).max(8).default(1),
});
export type RealmRoot = z.infer<typeof rootSchema>;

export const envelopeSchema = z.strictObject({
  payloadType: z.literal(INDEX_PAYLOAD_TYPE),
  payload: z.string().max(Math.ceil(MAX_INDEX_BYTES / 3) * 4).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
  signatures: z.array(z.strictObject({ keyid: keyIdHex, sig: signatureHex })).min(1).max(8),
});
export type Envelope = z.infer<typeof envelopeSchema>;

const names = (max: number) => z.array(z.string().min(1).max(200)).max(max);

export const entrySchema = z.strictObject({
  name: kataName,
  version: semver,
  sha256: sha256Hex,
  /** The pack's size in bytes: a download that grows past it is stopped and refused. */
  size: z.number().int().min(1).max(MAX_PACK_BYTES),
  /** The publisher's Ed25519 key; pinned per kata at first install (trust.ts). */
  publisherKey: publicKeyHex,
  description: z.string().max(2000).default(''),
  tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/)).max(20).default([]),
  complexity: z.enum(['simple', 'moderate', 'complex']).default('simple'),
  /** A semver range of Kingdom versions it runs on, e.g. `>=0.1.0 <0.3.0`. */
  kingdom: z.string().max(200).default('*'),
  requires: z.strictObject({ runners: names(100).default([]), skills: names(100).default([]) }).default({ runners: [], skills: [] }),
  /** What it asks for: hosts its http steps call, runners it uses, secrets it reads. */
  capabilities: z.strictObject({ hosts: names(100).default([]), runners: names(100).default([]), secrets: names(100).default([]) }).default({ hosts: [], runners: [], secrets: [] }),
  deprecated: z.boolean().default(false),
});
export type IndexEntry = z.infer<typeof entrySchema>;

/** A publisher's key change for one kata, signed by the key it replaces. */
export const rotationSchema = z.strictObject({ kata: kataName, from: publicKeyHex, to: publicKeyHex, sig: signatureHex });
export type Rotation = z.infer<typeof rotationSchema>;

export const indexSchema = z.strictObject({
  format: z.literal(INDEX_FORMAT),
  realm: realmName,
  /** Only goes up; a lower one is a rollback. */
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: isoTime,
  expiresAt: isoTime,
  katas: z.array(entrySchema).max(MAX_INDEX_ENTRIES),
  rotations: z.array(rotationSchema).max(1000).default([]),
  /** Free text shown with the realm. */
  title: shortText(200).optional(),
});
export type RealmIndex = z.infer<typeof indexSchema>;

/** `name@version`, the key of the hashes a client remembers. */
export const entryKey = (e: { readonly name: string; readonly version: string }): string => `${e.name}@${e.version}`;
