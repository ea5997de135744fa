/**
 * Projection snapshots: copies of the projections' tables at a point of the merge order, so that
 * an event of another device that sorts before events already applied re-derives the projections
 * from the newest snapshot before it instead of from the first event (decision 21).
 *
 * Invariants:
 * 1. A snapshot holds every registered projection's tables exactly as replaying the first `pos`
 *    events of the merge order (the last one's merge key is `ord`) leaves them. It is taken at the
 *    log head, inside the transaction that brought the projections there.
 * 2. It stays valid while nothing new sorts at or before `ord` and no projection changes version:
 *    a late event drops the snapshots at or after it, every rebuild or repair drops them all, and
 *    one taken under other projection versions is never restored.
 * 3. Ordinary tables are copied row for row (with their rowid where it is not a column). Virtual
 *    tables (the Forest's FTS5 index) are not copied: their projection's `restored()` rebuilds
 *    them from the restored tables. A projection owning a virtual table without `restored()`
 *    makes snapshots refuse to start (a restore would leave the index behind its content).
 * 4. Only databases that take in other devices' events keep snapshots (ingest takes them); one
 *    that never syncs pays nothing.
 */
import type { Sql } from '../db/sql.ts';
import type { Projection } from '../module.ts';

export interface Snapshot {
  readonly id: number;
  /** Merge key of the last event the snapshot includes. */
  readonly ord: string;
  /** How many events (in merge order) the snapshot includes. */
  readonly pos: number;
}

/**
 * Snapshots kept besides the newest "safe" one: those taken after the frontier (see `take`), newest
 * first. A late event of a device that syncs often lands after one of them.
 */
export const RECENT_SNAPSHOTS_KEPT = 2;

interface TableCopy {
  readonly table: string;
  /** Columns to copy; `_rowid_` first for a rowid table whose rowid is not a column. */
  readonly columns: readonly string[];
}

export class ProjectionSnapshots {
  private readonly versions: string;

  constructor(
    private readonly sql: Sql,
    private readonly projections: readonly Projection[],
  ) {
    this.versions = JSON.stringify(Object.fromEntries(projections.map((p) => [p.name, p.version])));
  }

  /** The newest usable snapshot that includes only events sorting before `ord`, or null. */
  newestBefore(ord: string): Snapshot | null {
    const row = this.sql.get('SELECT id, ord, pos FROM projection_snapshots WHERE ord < ? AND versions = ? ORDER BY ord DESC LIMIT 1', [ord, this.versions]);
    return row ? { id: Number(row['id']), ord: String(row['ord']), pos: Number(row['pos']) } : null;
  }

  /** The newest snapshot's position (0 when there is none). */
  newestPos(): number {
    return Number(this.sql.value('SELECT max(pos) FROM projection_snapshots WHERE versions = ?', [this.versions]) ?? 0);
  }

  /**
   * Copy every projection's tables as they are now, the state after `pos` events up to `ord`, and
   * prune. `frontier` is the smallest chain head (merge key) among the other devices: their next
   * events sort after it, so a snapshot at or before it stays valid until a device never seen
   * before shows up. Kept: the newest snapshot at or before the frontier (for a device that was
   * away long) and the RECENT_SNAPSHOTS_KEPT newest after it.
   */
  take(ord: string, pos: number, frontier: string): Snapshot {
    const copies = this.copies();
    this.sql.run('INSERT INTO projection_snapshots (ord, pos, versions, tables) VALUES (?, ?, ?, ?)',
      [ord, pos, this.versions, JSON.stringify(copies.map((c) => c.table))]);
    const id = Number(this.sql.value('SELECT last_insert_rowid()'));
    for (const c of copies) {
      this.sql.exec(`CREATE TABLE "${copyName(id, c.table)}" AS SELECT ${c.columns.map(quote).join(', ')} FROM "${c.table}"`);
    }
    const all = this.sql.all('SELECT id, ord, versions FROM projection_snapshots ORDER BY ord DESC');
    let recent = 0;
    let safeKept = false;
    for (const r of all) {
      const usable = String(r['versions']) === this.versions;
      const safe = String(r['ord']) <= frontier;
      const keep = usable && (safe ? !safeKept : recent < RECENT_SNAPSHOTS_KEPT);
      if (usable && safe) safeKept = true;
      else if (usable) recent++;
      if (!keep) this.drop(Number(r['id']));
    }
    return { id, ord, pos };
  }

  /** Put the projections' tables back as snapshot `s` holds them. */
  restore(s: Snapshot): void {
    for (const c of this.copies()) {
      const cols = c.columns.map(quote).join(', ');
      this.sql.run(`DELETE FROM "${c.table}"`);
      this.sql.run(`INSERT INTO "${c.table}" (${cols}) SELECT ${cols} FROM "${copyName(s.id, c.table)}"`);
    }
    for (const p of this.projections) p.restored?.(this.sql);
  }

  /** Drop the snapshots that include an event sorting at or after `ord` (they no longer hold). */
  dropFrom(ord: string): void {
    for (const r of this.sql.all('SELECT id FROM projection_snapshots WHERE ord >= ?', [ord])) this.drop(Number(r['id']));
  }

  dropAll(): void {
    for (const r of this.sql.all('SELECT id FROM projection_snapshots')) this.drop(Number(r['id']));
  }

  private drop(id: number): void {
    const tables = JSON.parse(String(this.sql.value('SELECT tables FROM projection_snapshots WHERE id = ?', [id]) ?? '[]')) as string[];
    for (const t of tables) this.sql.exec(`DROP TABLE IF EXISTS "${copyName(id, t)}"`);
    this.sql.run('DELETE FROM projection_snapshots WHERE id = ?', [id]);
  }

  /** The ordinary tables of every projection, with the columns a faithful copy needs. */
  private copies(): TableCopy[] {
    const out: TableCopy[] = [];
    for (const p of this.projections) {
      for (const table of p.tables) {
        const def = this.sql.value("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]);
        if (def === undefined) continue;
        if (/^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(String(def))) {
          if (!p.restored) throw new Error(`projection ${p.name} owns the virtual table ${table} but has no restored() to rebuild it after a snapshot restore`);
          continue;
        }
        const info = this.sql.all(`SELECT name, type, pk FROM pragma_table_info('${table}')`);
        const withoutRowid = Number(this.sql.value("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", [table]) ?? 0) === 1;
        const pks = info.filter((r) => Number(r['pk']) > 0);
        const rowidIsColumn = pks.length === 1 && String(pks[0]!['type']).toUpperCase() === 'INTEGER';
        const columns = info.map((r) => String(r['name']));
        out.push({ table, columns: withoutRowid || rowidIsColumn ? columns : ['_rowid_', ...columns] });
      }
    }
    return out;
  }
}

function copyName(id: number, table: string): string {
  return `snapshot_${id}_${table}`;
}

function quote(column: string): string {
  return column === '_rowid_' ? column : `"${column.replaceAll('"', '""')}"`;
}
