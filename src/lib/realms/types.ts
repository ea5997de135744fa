/**
 * What the Realms screen and the Dojo read from the kernel's realm queries (docs/realms.md, "The
 * contract"), as the UI uses it. Types only. The kernel's answers carry more fields; the UI reads
 * these and tolerates the rest, so every optional field here is one the screen can do without.
 */

export type RealmKind = 'local' | 'central' | 'custom';
export type Complexity = 'simple' | 'moderate' | 'complex';

export interface RootKey {
  readonly keyId: string;
  readonly publicKey: string;
  readonly algorithm?: string;
}

export interface RealmRootView {
  readonly realm: string;
  readonly keys: readonly RootKey[];
  readonly threshold: number;
}

export interface Refusal {
  readonly code: string;
  readonly message: string;
  readonly incident: boolean;
  readonly at: string;
}

export interface RealmRow {
  readonly id: string;
  readonly kind: RealmKind;
  readonly url: string;
  readonly title: string | null;
  readonly enabled: boolean;
  readonly root: RealmRootView;
  readonly registeredAt: string;
  readonly refreshing: boolean;
  readonly index: {
    readonly version: number;
    readonly issuedAt: string;
    readonly expiresAt: string;
    readonly digest: string;
    readonly acceptedAt: string;
    readonly katas: number;
  } | null;
  readonly lastRefusal: Refusal | null;
}

export interface Capabilities {
  readonly hosts: readonly string[];
  readonly runners: readonly string[];
  readonly secrets: readonly string[];
}

export interface KataVersion {
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly publisherKey: string;
  readonly kingdom: string;
  readonly requires: { readonly runners: readonly string[]; readonly skills: readonly string[] };
  readonly capabilities: Capabilities;
  readonly deprecated: boolean;
  readonly compatible: boolean;
  /** Each unmet requirement: a sentence, or `{ code, message }` (read with whyList). */
  readonly why: readonly (string | { readonly code: string; readonly message: string })[];
}

export interface KataRow {
  readonly realm: string;
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly complexity: Complexity;
  readonly installed: { readonly version: string; readonly realm: string } | null;
  /** Newest first. */
  readonly versions: readonly KataVersion[];
  /** A name that looks like another one seen before (flagged at install). */
  readonly lookalike?: string | null;
}

export type InstallStatus = 'proposed' | 'approved' | 'rejected' | 'installed' | 'failed';

/** What a proposal shows before a person approves (fields the kernel may name differently are read defensively: proposal.ts). */
export interface InstallRow {
  readonly requestId: string;
  readonly workspaceId: string;
  readonly realm: string;
  readonly name: string;
  readonly version: string;
  readonly status: InstallStatus;
  readonly proposal: unknown;
  readonly requestedBy: string | null;
  readonly approvedBy: string | null;
  readonly reason: string | null;
  readonly failure: { readonly code: string; readonly message: string } | null;
  readonly at: string;
  /** How far an approved install got, when the service reports it (downloading, verifying, registering). */
  readonly stage?: string | null;
}

export interface InstalledRow {
  readonly name: string;
  readonly version: string;
  readonly realm: string;
  readonly sha256: string;
  readonly indexVersion: number;
  readonly approvedBy: string | null;
  readonly installedAt: string;
  readonly manifests: readonly { readonly kind: string; readonly name: string; readonly version: string }[];
  readonly capabilities?: Capabilities;
  readonly requestId?: string;
}

export interface Incident {
  readonly realm: string;
  readonly code: string;
  readonly message: string;
  readonly at: string;
  readonly details?: unknown;
}

export interface KatasFilter {
  readonly query?: string;
  readonly tags?: readonly string[];
  readonly complexity?: Complexity;
  readonly skills?: readonly string[];
  readonly realm?: string;
}
