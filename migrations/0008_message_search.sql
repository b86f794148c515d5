-- Custom migration: the full-text index of message texts (GET /api/search, src/search/).
-- Triggers on `messages` keep it in step inside D1, so whatever writes history (the
-- ChannelDO's flush, a future history shard) needs no code of its own: a new message
-- is indexed, an edit re-indexed, a delete or an erased text removed.
--
-- The index stores no text (contentless): snippets are cut from `messages.text`.
-- `messages` is WITHOUT ROWID, so an FTS row is keyed by an integer made of the channel's
-- number here (`search_channels`) in the high 32 bits and the seq in the low ones: the
-- search tells a match of the caller's channels from the rowid alone, and one channel's
-- messages are one rowid range. Seqs must stay below 2^32 (4 billion in one channel).
--
-- A channel gets its number with INSERT ... WHERE NOT EXISTS, not INSERT OR IGNORE: inside
-- a trigger the conflict clause of the outer statement wins, and the flush's upsert
-- (ON CONFLICT DO UPDATE) would turn the IGNORE into an ABORT.
CREATE TABLE `search_channels` (
	`id` integer PRIMARY KEY,
	`channel_id` text NOT NULL UNIQUE
);
--> statement-breakpoint
CREATE VIRTUAL TABLE `message_search` USING fts5(
	`text`,
	content = '',
	contentless_delete = 1,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `message_search_insert` AFTER INSERT ON `messages`
WHEN NOT new.`deleted` AND new.`text` <> ''
BEGIN
	INSERT INTO `search_channels` (`channel_id`)
	SELECT new.`channel_id` WHERE NOT EXISTS (SELECT 1 FROM `search_channels` WHERE `channel_id` = new.`channel_id`);
	INSERT INTO `message_search` (`rowid`, `text`)
	SELECT (`id` << 32) | new.`seq`, new.`text` FROM `search_channels` WHERE `channel_id` = new.`channel_id`;
END;
--> statement-breakpoint
-- The flush rewrites `text` with every change (a reaction too): only a changed text or
-- delete flag touches the index.
CREATE TRIGGER `message_search_update` AFTER UPDATE OF `text`, `deleted` ON `messages`
WHEN old.`text` IS NOT new.`text` OR old.`deleted` IS NOT new.`deleted`
BEGIN
	DELETE FROM `message_search` WHERE `rowid` =
		(SELECT (`id` << 32) | old.`seq` FROM `search_channels` WHERE `channel_id` = old.`channel_id`);
	INSERT INTO `search_channels` (`channel_id`)
	SELECT new.`channel_id` WHERE NOT new.`deleted` AND new.`text` <> ''
		AND NOT EXISTS (SELECT 1 FROM `search_channels` WHERE `channel_id` = new.`channel_id`);
	INSERT INTO `message_search` (`rowid`, `text`)
	SELECT (`id` << 32) | new.`seq`, new.`text` FROM `search_channels`
	WHERE `channel_id` = new.`channel_id` AND NOT new.`deleted` AND new.`text` <> '';
END;
--> statement-breakpoint
CREATE TRIGGER `message_search_delete` AFTER DELETE ON `messages`
BEGIN
	DELETE FROM `message_search` WHERE `rowid` =
		(SELECT (`id` << 32) | old.`seq` FROM `search_channels` WHERE `channel_id` = old.`channel_id`);
END;
--> statement-breakpoint
-- The backfill: history stored before this migration.
INSERT INTO `search_channels` (`channel_id`)
SELECT DISTINCT `channel_id` FROM `messages` WHERE NOT `deleted` AND `text` <> '' ORDER BY `channel_id`;
--> statement-breakpoint
INSERT INTO `message_search` (`rowid`, `text`)
SELECT (c.`id` << 32) | m.`seq`, m.`text`
FROM `messages` m JOIN `search_channels` c ON c.`channel_id` = m.`channel_id`
WHERE NOT m.`deleted` AND m.`text` <> '';
