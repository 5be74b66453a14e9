/**
 * The monitor's tables: the security event log, alerts with their comments,
 * the automatic actions taken for them, and lock-outs. Timestamps are ISO-8601
 * UTC text, JSON is text, so one schema serves SQLite and PostgreSQL. Only
 * this file holds their SQL; alerts.ts, responses.ts and index.ts work
 * through the repository below, other modules through the monitor's API.
 */
import { PostgresAdapter, type Insertable, type Kysely, type Migration, type Selectable, type Updateable } from 'kysely';
import { tableExists, type Database } from '../store/index.js';
import { tablesOf, type Defaulted, type SerialIdColumn } from '../store/tables.js';

export interface MonitorTables {
  monitor_security_events: {
    id: SerialIdColumn;
    station_id: string | null;
    type: string;
    source: string;
    /** 0 or 1. */
    critical: number;
    tech_info: string | null;
    remote_address: string | null;
    /** How many occurrences the stored event stands for (the gateway throttles floods). */
    occurrences: Defaulted<number>;
    timestamp: string;
    received_at: string;
  };
  monitor_alerts: {
    id: string;
    detector: string;
    severity: string;
    title: string;
    description: string | null;
    station_id: string | null;
    dedupe_key: string;
    state: string;
    count: number;
    created_at: string;
    updated_at: string;
    acknowledged_by: string | null;
    acknowledged_at: string | null;
    resolved_by: string | null;
    resolved_at: string | null;
    /** JSON text. */
    evidence: string;
  };
  monitor_alert_comments: {
    id: SerialIdColumn;
    alert_id: string;
    author: string;
    text: string;
    at: string;
  };
  monitor_actions: {
    id: string;
    alert_id: string;
    kind: string;
    station_id: string | null;
    remote_address: string | null;
    reason: string;
    at: string;
    until: string | null;
    outcome: string;
    error: string | null;
    undone_at: string | null;
    undone_by: string | null;
  };
  monitor_lockouts: {
    id: string;
    station_id: string | null;
    remote_address: string | null;
    until: string;
    reason: string;
    action_id: string | null;
    created_at: string;
    lifted_at: string | null;
    lifted_by: string | null;
    /** refuse or slow. */
    mode: Defaulted<string>;
  };
}

export type SecurityEventRow = Selectable<MonitorTables['monitor_security_events']>;
export type AlertRow = Selectable<MonitorTables['monitor_alerts']>;
export type ActionRow = Selectable<MonitorTables['monitor_actions']>;
export type LockoutRecord = Selectable<MonitorTables['monitor_lockouts']>;

/** Auto-incrementing integer keys are spelled differently on each dialect. */
function serialId(db: Kysely<any>) {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  return { type: pg ? ('bigserial' as const) : ('integer' as const), autoIncrement: !pg };
}

export const monitorMigrations: Record<string, Migration> = {
  'monitor/001_init': {
    async up(db: Kysely<any>) {
      const id = serialId(db);
      await db.schema
        .createTable('monitor_security_events')
        .addColumn('id', id.type, (c) => (id.autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('station_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('critical', 'integer', (c) => c.notNull())
        .addColumn('tech_info', 'text')
        .addColumn('remote_address', 'text')
        .addColumn('timestamp', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_security_events_station').on('monitor_security_events').columns(['station_id', 'received_at']).execute();
      await db.schema.createIndex('monitor_security_events_received').on('monitor_security_events').column('received_at').execute();

      await db.schema
        .createTable('monitor_alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('detector', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('station_id', 'text')
        .addColumn('dedupe_key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('acknowledged_by', 'text')
        .addColumn('acknowledged_at', 'text')
        .addColumn('resolved_by', 'text')
        .addColumn('resolved_at', 'text')
        .addColumn('evidence', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_alerts_key').on('monitor_alerts').columns(['dedupe_key', 'state']).execute();
      await db.schema.createIndex('monitor_alerts_station').on('monitor_alerts').columns(['station_id', 'created_at']).execute();

      await db.schema
        .createTable('monitor_alert_comments')
        .addColumn('id', id.type, (c) => (id.autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_alert_comments_alert').on('monitor_alert_comments').column('alert_id').execute();

      await db.schema
        .createTable('monitor_actions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('station_id', 'text')
        .addColumn('remote_address', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('until', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('undone_at', 'text')
        .addColumn('undone_by', 'text')
        .execute();
      await db.schema.createIndex('monitor_actions_alert').on('monitor_actions').column('alert_id').execute();

      await db.schema
        .createTable('monitor_lockouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('station_id', 'text')
        .addColumn('remote_address', 'text')
        .addColumn('until', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('action_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('lifted_at', 'text')
        .addColumn('lifted_by', 'text')
        .execute();
      await db.schema.createIndex('monitor_lockouts_until').on('monitor_lockouts').column('until').execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['monitor_lockouts', 'monitor_actions', 'monitor_alert_comments', 'monitor_alerts', 'monitor_security_events']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  },
  'monitor/002_lockout_mode': {
    // Lock-outs that slow a station's attempts from unfamiliar addresses down instead of refusing them (distributed guessing).
    async up(db: Kysely<any>) {
      await db.schema.alterTable('monitor_lockouts').addColumn('mode', 'text', (c) => c.notNull().defaultTo('refuse')).execute();
    },
  },
  'monitor/003_event_occurrences': {
    // One stored event may stand for many: the gateway throttles what a flooding station causes.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('monitor_security_events').addColumn('occurrences', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
  },
};

export function createMonitorStore(database: Database) {
  const db = tablesOf<MonitorTables>(database);
  return {
    events: {
      /** Stores an event; its id. */
      async insert(row: Insertable<MonitorTables['monitor_security_events']>): Promise<number> {
        const inserted = await db.insertInto('monitor_security_events').values(row).returning('id').executeTakeFirstOrThrow();
        return Number(inserted.id);
      },
      async get(id: number): Promise<SecurityEventRow> {
        return db.selectFrom('monitor_security_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      },
      /** Newest first. */
      async list(q: { stationId?: string; since?: string; limit: number }): Promise<SecurityEventRow[]> {
        let query = db.selectFrom('monitor_security_events').selectAll();
        if (q.stationId) query = query.where('station_id', '=', q.stationId);
        if (q.since) query = query.where('received_at', '>=', q.since);
        return query.orderBy('id', 'desc').limit(q.limit).execute();
      },
    },
    alerts: {
      async get(id: string): Promise<AlertRow | undefined> {
        return db.selectFrom('monitor_alerts').selectAll().where('id', '=', id).executeTakeFirst();
      },
      /** The newest unresolved alert with this key, which a finding with the same key aggregates into. */
      async unresolvedByKey(dedupeKey: string): Promise<AlertRow | undefined> {
        return db.selectFrom('monitor_alerts').selectAll().where('dedupe_key', '=', dedupeKey).where('state', '!=', 'resolved').orderBy('created_at', 'desc').executeTakeFirst();
      },
      async insert(row: Insertable<MonitorTables['monitor_alerts']>): Promise<void> {
        await db.insertInto('monitor_alerts').values(row).execute();
      },
      async update(id: string, set: Updateable<MonitorTables['monitor_alerts']>): Promise<void> {
        await db.updateTable('monitor_alerts').set(set).where('id', '=', id).execute();
      },
      /** Moves the alert on only from the state it was read in. */
      async transition(id: string, from: string, set: Updateable<MonitorTables['monitor_alerts']>): Promise<void> {
        await db.updateTable('monitor_alerts').set(set).where('id', '=', id).where('state', '=', from).execute();
      },
      /** Newest first. */
      async list(q: { stationId?: string; state?: string; limit: number }): Promise<AlertRow[]> {
        let query = db.selectFrom('monitor_alerts').selectAll();
        if (q.stationId) query = query.where('station_id', '=', q.stationId);
        if (q.state) query = query.where('state', '=', q.state);
        return query.orderBy('created_at', 'desc').orderBy('id').limit(q.limit).execute();
      },
      /** The actions and comments of these alerts, in the order they were taken and written. */
      async details(alertIds: string[]) {
        const [actions, comments] = await Promise.all([
          db.selectFrom('monitor_actions').selectAll().where('alert_id', 'in', alertIds).orderBy('at').execute(),
          db.selectFrom('monitor_alert_comments').selectAll().where('alert_id', 'in', alertIds).orderBy('id').execute(),
        ]);
        return { actions, comments };
      },
      async addComment(row: Insertable<MonitorTables['monitor_alert_comments']>): Promise<void> {
        await db.insertInto('monitor_alert_comments').values(row).execute();
      },
    },
    actions: {
      async insert(row: Insertable<MonitorTables['monitor_actions']>): Promise<void> {
        await db.insertInto('monitor_actions').values(row).execute();
      },
      async get(id: string): Promise<ActionRow | undefined> {
        return db.selectFrom('monitor_actions').selectAll().where('id', '=', id).executeTakeFirst();
      },
      async markUndone(id: string, at: string, by: string): Promise<void> {
        await db.updateTable('monitor_actions').set({ undone_at: at, undone_by: by }).where('id', '=', id).execute();
      },
    },
    lockouts: {
      /** Lock-outs not lifted and not expired at `nowIso`; with a limit, the latest-ending first. */
      async active(nowIso: string, limit?: number): Promise<LockoutRecord[]> {
        const query = db.selectFrom('monitor_lockouts').selectAll().where('lifted_at', 'is', null).where('until', '>', nowIso);
        return limit === undefined ? query.execute() : query.orderBy('until', 'desc').limit(limit).execute();
      },
      async insert(row: Insertable<MonitorTables['monitor_lockouts']>): Promise<void> {
        await db.insertInto('monitor_lockouts').values(row).execute();
      },
      /** Lifts the lock-out an action set. */
      async liftFor(actionId: string, at: string, by: string): Promise<void> {
        await db.updateTable('monitor_lockouts').set({ lifted_at: at, lifted_by: by }).where('action_id', '=', actionId).execute();
      },
    },
  };
}

export type MonitorStore = ReturnType<typeof createMonitorStore>;

/** Whether the database holds the monitor's tables (a node migrated it), for tools that open a node's data without starting it. */
export function monitorTablesExist(database: Database): Promise<boolean> {
  return tableExists(database, 'monitor_alerts');
}
