/**
 * A collector database of an older schema version holding what a current store wrote: the migrations
 * before `version` run on a new database, then every table that version has gets the written database's
 * rows, in the columns that version has (a later migration's tables and columns are left out). What a
 * collector of that version would have stored, for a migration test that must not depend on which
 * migrations come after the one it tests.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

/** SQLite: `to` (a new file) at `version`, with the rows of `from` (a current database, closed). */
export function sqliteAtVersion(from: string, to: string, migrations: readonly string[], version: number): void {
  const db = new Database(to);
  try {
    for (const m of migrations.slice(0, version)) db.exec(m);
    db.pragma(`user_version = ${version}`);
    db.prepare('ATTACH DATABASE ? AS written').run(from);
    const tables = db.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    db.transaction(() => {
      for (const t of tables) {
        const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(t) as string[]).map((c) => `"${c}"`).join(', ');
        db.exec(`INSERT INTO main."${t}" (${columns}) SELECT ${columns} FROM written."${t}"`);
      }
    })();
    db.exec('DETACH DATABASE written');
  } finally {
    db.close();
  }
}

/**
 * PostgreSQL: the database at `to` (new, empty) at `version` (its version row in `versionTable`), with
 * the rows of the database at `from`, each value passed as its text form (the column's type reads it).
 */
export async function pgAtVersion(from: string, to: string, migrations: readonly string[], version: number, versionTable: string): Promise<void> {
  const src = new pg.Client({ connectionString: from });
  const dst = new pg.Client({ connectionString: to });
  await src.connect();
  try {
    await dst.connect();
    try {
      for (const m of migrations.slice(0, version)) await dst.query(m);
      const tables = await dst.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
      for (const { table_name: t } of tables.rows) {
        const cols = await dst.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position", [t]);
        const names = cols.rows.map((c) => `"${c.column_name}"`);
        const rows = await src.query<Array<string | null>>({ text: `SELECT ${names.map((n) => `${n}::text`).join(', ')} FROM "${t}"`, rowMode: 'array' });
        for (const row of rows.rows) {
          await dst.query(`INSERT INTO "${t}" (${names.join(', ')}) OVERRIDING SYSTEM VALUE VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, row);
        }
      }
      await dst.query(`CREATE TABLE ${versionTable} (version INTEGER NOT NULL); INSERT INTO ${versionTable} VALUES (${version})`);
    } finally {
      await dst.end();
    }
  } finally {
    await src.end();
  }
}
