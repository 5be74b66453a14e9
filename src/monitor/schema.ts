/**
 * The monitor's tables: the security event log, alerts with their comments,
 * the automatic actions taken for them, and lock-outs. Timestamps are ISO-8601
 * UTC text, JSON is text, so one schema serves SQLite and PostgreSQL.
 */
import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

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
