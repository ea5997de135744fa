/**
 * The realms domain's tables and how it reads them (docs/realms.md): registered realms, every
 * accepted index (per device that accepted it), every `name@version → sha256` seen, pinned
 * publisher keys, refusals, install requests and installed katas.
 *
 * The trust state of a realm (worker/realms/trust.ts TrustState) is derived from these tables,
 * so it is the fold of the log: it travels to a person's other devices with the events, and the
 * merged log shows what one device alone cannot (incidents.ts).
 *
 * Invariants:
 * 1. Projections are deterministic: rows keyed by event id, or first-in-merge-order wins
 *    (INSERT OR IGNORE) where several devices may write the same key.
 * 2. Nothing here writes outside `apply`; readers are pure.
 */
import type { EventEnvelope } from '../../kernel/log/envelope.ts';
import type { Reader, Writer } from '../../kernel/module.ts';
import type { Json } from '../../kernel/errors.ts';

export const REALM_TABLES = ['realms', 'realm_indexes', 'realm_seen', 'realm_publishers', 'realm_refusals', 'realm_installs', 'realm_installed'] as const;

export const REALM_SQL = `
  CREATE TABLE realms (id TEXT PRIMARY KEY, kind TEXT NOT NULL, url TEXT NOT NULL, title TEXT, root TEXT NOT NULL,
    enabled INTEGER NOT NULL, removed INTEGER NOT NULL, registered_at TEXT NOT NULL,
    refresh_requested_at TEXT, refresh_done_at TEXT) STRICT;
  CREATE TABLE realm_indexes (event_id TEXT PRIMARY KEY, realm TEXT NOT NULL, version INTEGER NOT NULL, digest TEXT NOT NULL,
    issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, issued_ms INTEGER NOT NULL, device TEXT NOT NULL, accepted_at TEXT NOT NULL,
    title TEXT, entries TEXT) STRICT;
  CREATE INDEX realm_indexes_by_realm ON realm_indexes (realm, version);
  CREATE TABLE realm_seen (realm TEXT NOT NULL, key TEXT NOT NULL, sha256 TEXT NOT NULL, device TEXT NOT NULL, index_version INTEGER NOT NULL,
    PRIMARY KEY (realm, key, sha256)) STRICT;
  CREATE TABLE realm_publishers (realm TEXT NOT NULL, kata TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (realm, kata)) STRICT;
  CREATE TABLE realm_refusals (event_id TEXT PRIMARY KEY, realm TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL,
    incident INTEGER NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL, details TEXT NOT NULL) STRICT;
  CREATE TABLE realm_installs (request_id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, realm TEXT NOT NULL, name TEXT NOT NULL,
    version TEXT NOT NULL, status TEXT NOT NULL, proposal TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
    approved_by TEXT, approved_device TEXT, reason TEXT, failure TEXT, updated_at TEXT NOT NULL) STRICT;
  CREATE TABLE realm_installed (workspace_id TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, realm TEXT NOT NULL,
    sha256 TEXT NOT NULL, index_version INTEGER NOT NULL, approved_by TEXT NOT NULL, installed_at TEXT NOT NULL,
    manifests TEXT NOT NULL, capabilities TEXT NOT NULL, request_id TEXT NOT NULL, PRIMARY KEY (workspace_id, name)) STRICT;`;

/** An index entry as the domain keeps it (worker/realms/format.ts IndexEntry). */
export interface Entry {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly publisherKey: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly complexity: 'simple' | 'moderate' | 'complex';
  readonly kingdom: string;
  readonly requires: { readonly runners: readonly string[]; readonly skills: readonly string[] };
  readonly capabilities: Capabilities;
  readonly deprecated: boolean;
}
export interface Capabilities { readonly hosts: readonly string[]; readonly runners: readonly string[]; readonly secrets: readonly string[] }

export interface RealmRow {
  readonly id: string;
  readonly kind: string;
  readonly url: string;
  readonly title: string | null;
  readonly root: { realm: string; keys: { keyId: string; publicKey: string; algorithm: 'Ed25519' }[]; threshold: number };
  readonly enabled: boolean;
  readonly removed: boolean;
  readonly registeredAt: string;
  readonly refreshRequestedAt: string | null;
  readonly refreshDoneAt: string | null;
}

export function readRealm(r: Reader, id: string): RealmRow | undefined {
  const x = r.get('SELECT * FROM realms WHERE id = ?', [id]);
  return x ? toRealm(x) : undefined;
}

export function readRealms(r: Reader): RealmRow[] {
  return r.all('SELECT * FROM realms WHERE removed = 0 ORDER BY id').map(toRealm);
}

function toRealm(x: Record<string, unknown>): RealmRow {
  return {
    id: String(x['id']), kind: String(x['kind']), url: String(x['url']), title: x['title'] === null ? null : String(x['title']),
    root: JSON.parse(String(x['root'])) as RealmRow['root'], enabled: Number(x['enabled']) === 1, removed: Number(x['removed']) === 1,
    registeredAt: String(x['registered_at']),
    refreshRequestedAt: x['refresh_requested_at'] === null ? null : String(x['refresh_requested_at']),
    refreshDoneAt: x['refresh_done_at'] === null ? null : String(x['refresh_done_at']),
  };
}

export interface IndexRow {
  readonly version: number;
  readonly digest: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly acceptedAt: string;
  readonly title: string | null;
  readonly entries: readonly Entry[];
}

/** The latest accepted index of a realm (highest version; the first accepted in merge order of that version). */
export function readLatestIndex(r: Reader, realm: string): IndexRow | undefined {
  const x = r.get(`SELECT version, digest, issued_at, expires_at, accepted_at, title, entries FROM realm_indexes
    WHERE realm = ? AND entries IS NOT NULL ORDER BY version DESC, rowid ASC LIMIT 1`, [realm]);
  if (!x) return undefined;
  return {
    version: Number(x['version']), digest: String(x['digest']), issuedAt: String(x['issued_at']), expiresAt: String(x['expires_at']),
    acceptedAt: String(x['accepted_at']), title: x['title'] === null ? null : String(x['title']), entries: JSON.parse(String(x['entries'])) as Entry[],
  };
}

/** What trust.ts needs, as plain JSON (the service rebuilds its Maps). */
export interface TrustJson {
  readonly highestVersion: number;
  readonly highestDigest: string | null;
  readonly latestIssuedMs: number;
  readonly seen: readonly [string, string][];
  readonly publishers: readonly [string, string][];
}

/** A realm's trust state, the fold of every accepted index on every device. */
export function readTrust(r: Reader, realm: string): TrustJson {
  const top = r.get('SELECT version, min(digest) AS digest FROM realm_indexes WHERE realm = ? AND version = (SELECT max(version) FROM realm_indexes WHERE realm = ?)', [realm, realm]);
  const issued = r.value('SELECT max(issued_ms) FROM realm_indexes WHERE realm = ?', [realm]);
  const highestVersion = top && top['version'] !== null ? Number(top['version']) : 0;
  return {
    highestVersion,
    highestDigest: highestVersion > 0 ? String(top!['digest']) : null,
    latestIssuedMs: issued === null || issued === undefined ? 0 : Number(issued),
    // Several hashes for one key exist only after an incident; the first in merge order is kept.
    seen: r.all('SELECT key, sha256 FROM realm_seen WHERE realm = ? ORDER BY key, rowid', [realm]).map((x) => [String(x['key']), String(x['sha256'])] as [string, string])
      .filter((kv, i, all) => i === 0 || all[i - 1]![0] !== kv[0]),
    publishers: r.all('SELECT kata, key FROM realm_publishers WHERE realm = ? ORDER BY kata', [realm]).map((x) => [String(x['kata']), String(x['key'])] as [string, string]),
  };
}

export interface InstallRow {
  readonly requestId: string;
  readonly workspaceId: string;
  readonly realm: string;
  readonly name: string;
  readonly version: string;
  readonly status: 'proposed' | 'approved' | 'rejected' | 'installed' | 'failed';
  readonly proposal: Proposal;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly approvedBy: string | null;
  readonly approvedDevice: string | null;
  readonly reason: string | null;
  readonly failure: { code: string; message: string } | null;
  readonly updatedAt: string;
}

export interface Proposal {
  readonly entry: Entry;
  readonly indexVersion: number;
  readonly compatible: boolean;
  readonly why: readonly { code: string; message: string }[];
  readonly upgradeFrom: { version: string; capabilities: Capabilities } | null;
  readonly diff: { added: Capabilities; removed: Capabilities } | null;
  readonly lookalike: string | null;
}

export function readInstall(r: Reader, requestId: string): InstallRow | undefined {
  const x = r.get('SELECT * FROM realm_installs WHERE request_id = ?', [requestId]);
  return x ? toInstall(x) : undefined;
}

export function readInstalls(r: Reader, workspaceId: string | null, status?: string): InstallRow[] {
  const where = [workspaceId === null ? '1' : 'workspace_id = ?', status ? 'status = ?' : '1'].join(' AND ');
  const args = [...(workspaceId === null ? [] : [workspaceId]), ...(status ? [status] : [])];
  return r.all(`SELECT * FROM realm_installs WHERE ${where} ORDER BY requested_at DESC, request_id DESC`, args).map(toInstall);
}

function toInstall(x: Record<string, unknown>): InstallRow {
  const s = (k: string) => (x[k] === null ? null : String(x[k]));
  return {
    requestId: String(x['request_id']), workspaceId: String(x['workspace_id']), realm: String(x['realm']), name: String(x['name']),
    version: String(x['version']), status: String(x['status']) as InstallRow['status'], proposal: JSON.parse(String(x['proposal'])) as Proposal,
    requestedBy: String(x['requested_by']), requestedAt: String(x['requested_at']), approvedBy: s('approved_by'), approvedDevice: s('approved_device'),
    reason: s('reason'), failure: x['failure'] === null ? null : JSON.parse(String(x['failure'])) as { code: string; message: string }, updatedAt: String(x['updated_at']),
  };
}

export interface InstalledRow {
  readonly name: string;
  readonly version: string;
  readonly realm: string;
  readonly sha256: string;
  readonly indexVersion: number;
  readonly approvedBy: string;
  readonly installedAt: string;
  readonly manifests: readonly { kind: string; name: string; version: string }[];
  readonly capabilities: Capabilities;
  readonly requestId: string;
}

export function readInstalled(r: Reader, workspaceId: string, name?: string): InstalledRow[] {
  return r.all(`SELECT * FROM realm_installed WHERE workspace_id = ? ${name === undefined ? '' : 'AND name = ?'} ORDER BY name`, name === undefined ? [workspaceId] : [workspaceId, name]).map((x) => ({
    name: String(x['name']), version: String(x['version']), realm: String(x['realm']), sha256: String(x['sha256']), indexVersion: Number(x['index_version']),
    approvedBy: String(x['approved_by']), installedAt: String(x['installed_at']), manifests: JSON.parse(String(x['manifests'])) as InstalledRow['manifests'],
    capabilities: JSON.parse(String(x['capabilities'])) as Capabilities, requestId: String(x['request_id']),
  }));
}

type P = { [k: string]: Json };

/** The projection's apply (one function for every realm event type). */
export function applyRealmEvent(e: EventEnvelope, w: Writer): void {
  const p = e.payload as P;
  const id = String(p['id'] ?? '');
  switch (e.type) {
    case 'realm.registered':
      w.run(`INSERT INTO realms (id, kind, url, title, root, enabled, removed, registered_at, refresh_requested_at, refresh_done_at) VALUES (?,?,?,?,?,1,0,?,?,NULL)
        ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, url = excluded.url, title = excluded.title, root = excluded.root, enabled = 1, removed = 0,
          registered_at = excluded.registered_at, refresh_requested_at = excluded.refresh_requested_at, refresh_done_at = NULL`,
        [id, String(p['kind']), String(p['url']), p['title'] === undefined ? null : String(p['title']), JSON.stringify(p['root']), e.at, e.at]);
      return;
    case 'realm.enabled':
      w.run('UPDATE realms SET enabled = 1, refresh_requested_at = ? WHERE id = ?', [e.at, id]);
      return;
    case 'realm.disabled':
      w.run('UPDATE realms SET enabled = 0 WHERE id = ?', [id]);
      return;
    case 'realm.removed':
      w.run('UPDATE realms SET removed = 1, enabled = 0 WHERE id = ?', [id]);
      return;
    case 'realm.refresh_requested':
      w.run('UPDATE realms SET refresh_requested_at = ? WHERE id = ?', [e.at, id]);
      return;
    case 'realm.index_accepted':
    case 'realm.index_confirmed': {
      const version = Number(p['version']);
      const entries = e.type === 'realm.index_accepted' ? (p['katas'] as unknown as Entry[]) : null;
      w.run(`INSERT INTO realm_indexes (event_id, realm, version, digest, issued_at, expires_at, issued_ms, device, accepted_at, title, entries) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
        [e.id, id, version, String(p['digest']), String(p['issuedAt']), String(p['expiresAt']), Date.parse(String(p['issuedAt'])), e.device, e.at,
          p['title'] === undefined ? null : String(p['title']), entries === null ? null : JSON.stringify(entries)]);
      for (const k of entries ?? []) {
        w.run('INSERT OR IGNORE INTO realm_seen (realm, key, sha256, device, index_version) VALUES (?,?,?,?,?)', [id, `${k.name}@${k.version}`, k.sha256, e.device, version]);
        w.run('INSERT INTO realm_publishers (realm, kata, key) VALUES (?,?,?) ON CONFLICT (realm, kata) DO UPDATE SET key = excluded.key', [id, k.name, k.publisherKey]);
      }
      w.run('UPDATE realms SET refresh_done_at = ? WHERE id = ?', [e.at, id]);
      return;
    }
    case 'realm.index_refused':
      w.run('INSERT INTO realm_refusals (event_id, realm, code, message, incident, device, at, details) VALUES (?,?,?,?,?,?,?,?)',
        [e.id, id, String(p['code']), String(p['message']), p['incident'] === true ? 1 : 0, e.device, e.at, JSON.stringify(p['details'] ?? {})]);
      w.run('UPDATE realms SET refresh_done_at = ? WHERE id = ?', [e.at, id]);
      return;
    default:
      applyInstallEvent(e, p, w);
  }
}

function applyInstallEvent(e: EventEnvelope, p: P, w: Writer): void {
  const req = String(p['requestId'] ?? '');
  switch (e.type) {
    case 'realm.install_proposed':
      w.run(`INSERT INTO realm_installs (request_id, workspace_id, realm, name, version, status, proposal, requested_by, requested_at, updated_at)
        VALUES (?,?,?,?,?,'proposed',?,?,?,?) ON CONFLICT (request_id) DO NOTHING`,
        [req, String(p['workspaceId']), String(p['realm']), String(p['name']), String(p['version']), JSON.stringify(p['proposal']), e.actor, e.at, e.at]);
      return;
    case 'realm.install_approved':
      w.run(`UPDATE realm_installs SET status = 'approved', approved_by = ?, approved_device = ?, updated_at = ? WHERE request_id = ? AND status = 'proposed'`, [e.actor, e.device, e.at, req]);
      return;
    case 'realm.install_rejected':
      w.run(`UPDATE realm_installs SET status = 'rejected', reason = ?, approved_by = ?, updated_at = ? WHERE request_id = ? AND status = 'proposed'`, [String(p['reason']), e.actor, e.at, req]);
      return;
    case 'realm.install_failed':
      w.run(`UPDATE realm_installs SET status = 'failed', failure = ?, updated_at = ? WHERE request_id = ? AND status = 'approved'`,
        [JSON.stringify({ code: p['code'], message: p['message'] }), e.at, req]);
      return;
    case 'realm.installed':
      w.run(`UPDATE realm_installs SET status = 'installed', updated_at = ? WHERE request_id = ?`, [e.at, req]);
      w.run(`INSERT INTO realm_installed (workspace_id, name, version, realm, sha256, index_version, approved_by, installed_at, manifests, capabilities, request_id)
        VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (workspace_id, name) DO UPDATE SET version = excluded.version, realm = excluded.realm, sha256 = excluded.sha256,
          index_version = excluded.index_version, approved_by = excluded.approved_by, installed_at = excluded.installed_at, manifests = excluded.manifests,
          capabilities = excluded.capabilities, request_id = excluded.request_id`,
        [String(p['workspaceId']), String(p['name']), String(p['version']), String(p['realm']), String(p['sha256']), Number(p['indexVersion']),
          String(p['approvedBy']), e.at, JSON.stringify(p['manifests']), JSON.stringify(p['capabilities']), req]);
      return;
    case 'realm.uninstalled':
      w.run('DELETE FROM realm_installed WHERE workspace_id = ? AND name = ?', [String(p['workspaceId']), String(p['name'])]);
      return;
  }
}
