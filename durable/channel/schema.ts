import type { LegacyVersions, Migration } from "../kit/sql-migrations";

/** ChannelDO storage: append-only, see durable/kit/sql-migrations.ts. */
export const CHANNEL_MIGRATIONS: readonly Migration[] = [
  {
    id: "0001_init",
    sql: `
      CREATE TABLE channel (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, visibility TEXT NOT NULL,
        created_by TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE members (user_id TEXT PRIMARY KEY, role TEXT NOT NULL, joined_at INTEGER NOT NULL);
      -- text is NULL once a message is in D1 and older than the retained window; the row
      -- stays so (sender_id, client_msg_id) still de-duplicates re-sends forever.
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY, sender_id TEXT NOT NULL, client_msg_id TEXT NOT NULL,
        text TEXT, ts INTEGER NOT NULL);
      CREATE UNIQUE INDEX messages_dedupe ON messages (sender_id, client_msg_id);
      CREATE TABLE reads (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      -- The counters of ChannelStore.progress() as one row, so a D1 flush that moves
      -- several of them writes one row (rows written are what a message costs).
      CREATE TABLE progress (
        id INTEGER PRIMARY KEY CHECK (id = 0), flushed_seq INTEGER NOT NULL, pruned_seq INTEGER NOT NULL,
        delivered_seq INTEGER NOT NULL, flush_attempt INTEGER NOT NULL);
      INSERT INTO progress VALUES (0, 0, 0, 0, 0);`,
  },
  { id: "0002_topic", sql: "ALTER TABLE channel ADD COLUMN topic TEXT;" },
  {
    id: "0003_online_members",
    sql: `
      -- Whether each member is online, as their UserDO last said (durable/kit/relay.ts).
      -- push: whether they have a Web Push subscription (only those are asked for pushes).
      CREATE TABLE member_presence (
        user_id TEXT PRIMARY KEY, online INTEGER NOT NULL, push INTEGER NOT NULL, epoch INTEGER NOT NULL);
      -- Notification levels members chose; a member without a row has the channel's default.
      CREATE TABLE notification_levels (user_id TEXT PRIMARY KEY, level TEXT NOT NULL);`,
  },
  {
    id: "0004_files",
    sql: `
      -- The files of a message, as JSON (durable/channel/file-store.ts); NULL when it has none.
      ALTER TABLE messages ADD COLUMN attachments TEXT;
      -- Every file uploaded to the channel. ready: the bytes are in R2; seq: the message
      -- that carries it (NULL until attached, and such rows are deleted after a while).
      CREATE TABLE files (
        id TEXT PRIMARY KEY, uploader_id TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0, width INTEGER, height INTEGER, created_at INTEGER NOT NULL,
        ready INTEGER NOT NULL DEFAULT 0, seq INTEGER);
      CREATE INDEX files_unattached ON files (created_at) WHERE seq IS NULL;
      CREATE INDEX files_by_message ON files (seq) WHERE seq IS NOT NULL;`,
  },
  {
    id: "0005_lifecycle",
    sql: `
      -- Every stored change (a new message, an edit, a delete) takes the next rev; a row
      -- carries the rev of its latest change, so the channel's counter is MAX(rev) and
      -- the changes after a rev are one index range. Old messages were their only
      -- change: rev = seq keeps the counter consistent with what D1 was sent.
      ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE messages ADD COLUMN edited_at INTEGER;
      -- A tombstone: text '' and nothing else of the message but its place in seq.
      ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
      -- Replies (one level): the parent's seq; the parent counts them.
      ALTER TABLE messages ADD COLUMN reply_to INTEGER;
      ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE messages ADD COLUMN last_reply_at INTEGER;
      UPDATE messages SET rev = seq;
      CREATE INDEX messages_rev ON messages (rev);
      -- Partial: a message that is no reply writes no entry here.
      CREATE INDEX messages_replies ON messages (reply_to, seq) WHERE reply_to IS NOT NULL;
      -- Who reacted with what: the authority (idempotence, every user). The message row
      -- keeps the summary clients see (counts, the first 20 users) as JSON, written in
      -- the same change, so reading a message reads one row.
      ALTER TABLE messages ADD COLUMN reactions TEXT;
      -- rev: the change that added it, which orders reactions (timestamps can tie).
      CREATE TABLE reactions (
        seq INTEGER NOT NULL, emoji TEXT NOT NULL, user_id TEXT NOT NULL, rev INTEGER NOT NULL,
        PRIMARY KEY (seq, emoji, user_id)) WITHOUT ROWID;
      -- The flush copies changes in rev order: D1 has the current state of every
      -- message whose rev is at most flushed_rev.
      ALTER TABLE progress ADD COLUMN flushed_rev INTEGER NOT NULL DEFAULT 0;
      UPDATE progress SET flushed_rev = flushed_seq;`,
  },
  {
    id: "0006_changed_rows",
    sql: `
      -- An index entry on every message's rev was one more row written per message (a
      -- third of what a message costs here) to find the few that changed. created_rev
      -- is the rev a message was sent with: rows never changed since (rev = created_rev)
      -- are in seq order by rev already, so only changed rows need the index, and a
      -- partial one writes nothing for a new message. Messages from before this have
      -- created_rev 0, so they all count as changed: correct, as before, just indexed.
      ALTER TABLE messages ADD COLUMN created_rev INTEGER NOT NULL DEFAULT 0;
      DROP INDEX messages_rev;
      CREATE INDEX messages_changed ON messages (rev) WHERE rev > created_rev;`,
  },
  {
    id: "0007_mentions",
    sql: `
      -- Members' usernames, lower-cased as D1 keeps them, so a send resolves @mentions
      -- without reading D1. NULL until learned from D1: members from before this column,
      -- or added while D1 could not tell (durable/channel/member-names.ts).
      ALTER TABLE members ADD COLUMN username TEXT;
      CREATE INDEX members_unnamed ON members (user_id) WHERE username IS NULL;
      -- message.mentions as JSON (the userIds its text mentions); NULL when none. Kept
      -- when the text is pruned: it is what the message is, not what it says.
      ALTER TABLE messages ADD COLUMN mentions TEXT;
      -- The same, one row per mentioned member, for their unread count and push
      -- follow-ups: one index range per member (durable/channel/mention-index.ts).
      CREATE TABLE mentions (user_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (user_id, seq)) WITHOUT ROWID;`,
  },
  {
    id: "0008_history_ranges",
    sql: `
      -- Which history shard holds which seqs of this channel (durable/channel/history-ranges.ts):
      -- a range runs from its start_seq to the next range's; written_through is the highest
      -- seq a flush may have written into it, where the next range must start after.
      -- Everything from before shards is in the one database there was, shard 0, and may
      -- all have been written; a channel with no message yet gets its first range at its
      -- first flush.
      CREATE TABLE history_ranges (
        start_seq INTEGER PRIMARY KEY, shard INTEGER NOT NULL, written_through INTEGER NOT NULL);
      INSERT INTO history_ranges (start_seq, shard, written_through)
        SELECT 1, 0, max(seq) FROM messages HAVING count(*) > 0;`,
  },
];

/**
 * Objects migrated before migrations had ids counted their steps in `_schema`. The
 * 9 steps of the last such version built exactly what 0001_init builds, by way of a
 * `counters` table that was created, copied into `progress` and dropped; new objects
 * skip that detour. Objects still at 6 steps have only `counters`: theirs is copied
 * into `progress` on the way. Either kind also drops the `_timers` table, where a
 * version before wake-ups stored the flush and delivery timers this object no longer has.
 */
export const CHANNEL_LEGACY_VERSIONS: LegacyVersions = {
  9: { through: "0001_init", upgrade: "DROP TABLE IF EXISTS _timers" },
  6: {
    through: "0001_init",
    upgrade: `
      CREATE TABLE progress (
        id INTEGER PRIMARY KEY CHECK (id = 0), flushed_seq INTEGER NOT NULL, pruned_seq INTEGER NOT NULL,
        delivered_seq INTEGER NOT NULL, flush_attempt INTEGER NOT NULL);
      INSERT INTO progress
        SELECT 0, ifnull(max(CASE name WHEN 'flushed_seq' THEN value END), 0),
          ifnull(max(CASE name WHEN 'pruned_seq' THEN value END), 0),
          ifnull(max(CASE name WHEN 'delivered_seq' THEN value END), 0),
          ifnull(max(CASE name WHEN 'flush_attempt' THEN value END), 0)
        FROM counters;
      DROP TABLE counters;
      DROP TABLE IF EXISTS _timers;`,
  },
};
