-- Custom migration (drizzle-kit cannot express WITHOUT ROWID). A rowid table with a
-- composite primary key keeps the key in a separate index, so every message cost D1
-- three rows written; clustered on (channel_id, seq) it costs two, and history pages
-- read one contiguous range. The schema in src/db/schema.ts is otherwise unchanged.
CREATE TABLE `messages_new` (
	`channel_id` text NOT NULL,
	`seq` integer NOT NULL,
	`sender_id` text NOT NULL,
	`client_msg_id` text NOT NULL,
	`text` text NOT NULL,
	`ts` integer NOT NULL,
	PRIMARY KEY(`channel_id`, `seq`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `messages_new` SELECT `channel_id`, `seq`, `sender_id`, `client_msg_id`, `text`, `ts` FROM `messages`;
--> statement-breakpoint
DROP TABLE `messages`;
--> statement-breakpoint
ALTER TABLE `messages_new` RENAME TO `messages`;
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_client_msg_idx` ON `messages` (`channel_id`,`sender_id`,`client_msg_id`);
