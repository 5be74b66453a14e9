/**
 * Statements compiled once: every argument lands in its own parameter
 * whatever order the SQL puts them in, constants stay, and a builder that
 * inlines an argument into the SQL is refused; on SQLite and PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { prepared, preparedRecord } from '../../src/store/prepared.js';
import { openScratchDatabase, testDatabases } from '../support/node.js';

for (const dialect of testDatabases()) {
  test(`prepared statements bind each run's values (${dialect})`, async (t) => {
    const database = await openScratchDatabase(dialect, t);
    const db = database.db as any;
    await sql`CREATE TABLE notes (id text PRIMARY KEY, body text NOT NULL, kind text NOT NULL, n integer NOT NULL)`.execute(db);
    // The arguments are taken in another order than the SQL uses them, with a constant between.
    const insert = prepared(db, 3, (n: number, body: string, id: string) => db.insertInto('notes').values({ id, kind: 'fixed', body, n }));
    const update = prepared(db, 2, (id: string, body: string) => db.updateTable('notes').set({ body }).where('id', '=', id));
    await insert(1, 'first', 'a');
    await insert(2, "second, with a ' quote", 'b');
    await update('a', 'changed');
    const rows = (await sql<{ id: string; body: string; kind: string; n: number }>`SELECT id, body, kind, n FROM notes ORDER BY id`.execute(db)).rows;
    assert.deepEqual(rows.map((r) => ({ ...r, n: Number(r.n) })), [
      { id: 'a', body: 'changed', kind: 'fixed', n: 1 },
      { id: 'b', body: "second, with a ' quote", kind: 'fixed', n: 2 },
    ]);
    const byKind = prepared(db, 2, (kind: string, min: number) => db.selectFrom('notes').select(['id', 'n']).where('kind', '=', kind).where('n', '>=', min).orderBy('id'));
    assert.deepEqual((await byKind('fixed', 2)).map((r: any) => r.id), ['b']);
    assert.deepEqual((await byKind('fixed', 1)).map((r: any) => r.id), ['a', 'b']);
    assert.deepEqual(await byKind('other', 0), []);
    const inline = prepared(db, 1, (id: string) => db.selectFrom('notes').select(sql.lit(id).as('x')));
    await assert.rejects(inline('a'), /not inline/);

    // The same statement inside a transaction: what it wrote goes with the transaction's outcome.
    const note = preparedRecord(db, ['n', 'id', 'body'] as const, (r) => db.insertInto('notes').values({ ...r, kind: 'record' }));
    await db.transaction().execute(async (trx: any) => {
      await note.on(trx, { id: 'c', body: 'kept', n: 3 });
      assert.deepEqual((await byKind.on(trx, 'record', 0)).map((r: any) => r.id), ['c']);
    });
    await assert.rejects(db.transaction().execute(async (trx: any) => {
      await note.on(trx, { id: 'd', body: 'undone', n: 4 });
      throw new Error('roll back');
    }), /roll back/);
    // A field left out binds NULL: the NOT NULL column refuses it instead of storing a default.
    await assert.rejects(note({ id: 'e', n: 5 } as any));
    assert.deepEqual((await byKind('record', 0)).map((r: any) => ({ id: r.id, n: Number(r.n) })), [{ id: 'c', n: 3 }]);

    // The database's own transaction (the hot path's): the statements run on its connection, and a plain
    // write started meanwhile neither joins it nor is lost when it rolls back.
    await database.transaction(async (conn) => {
      await note.on(conn, { id: 'f', body: 'kept', n: 6 });
      assert.deepEqual((await byKind.on(conn, 'record', 6)).map((r: any) => r.id), ['f']);
    });
    let outside: Promise<unknown> | undefined;
    await assert.rejects(database.transaction(async (conn) => {
      await note.on(conn, { id: 'g', body: 'undone', n: 7 });
      outside = note({ id: 'h', body: 'outside', n: 8 });
      throw new Error('roll back');
    }), /roll back/);
    await outside;
    assert.deepEqual((await byKind('record', 0)).map((r: any) => r.id), ['c', 'f', 'h']);

    // How many rows a write changed, on the database and on a transaction's connection: an insert that
    // yields to an existing row says so without RETURNING.
    const once = preparedRecord(db, ['id', 'body', 'n'] as const, (r) => db.insertInto('notes').values({ ...r, kind: 'once' }).onConflict((oc: any) => oc.column('id').doNothing()));
    assert.equal(await once.changedOn(db, { id: 'i', body: 'first', n: 9 }), 1);
    assert.equal(await once.changedOn(db, { id: 'i', body: 'second', n: 9 }), 0);
    await database.transaction(async (conn) => {
      assert.equal(await once.changedOn(conn, { id: 'j', body: 'first', n: 10 }), 1);
      assert.equal(await once.changedOn(conn, { id: 'j', body: 'second', n: 10 }), 0);
      assert.equal(await once.changedOn(conn, { id: 'i', body: 'third', n: 9 }), 0);
    });
    const renumber = prepared(db, 2, (kind: string, n: number) => db.updateTable('notes').set({ n }).where('kind', '=', kind));
    assert.equal(await renumber.changedOn(db, 'once', 11), 2);
    assert.deepEqual((await byKind('once', 0)).map((r: any) => [r.id, Number(r.n)]), [['i', 11], ['j', 11]]);
  });
}
