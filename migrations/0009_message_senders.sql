-- A message was its row plus an entry in messages_client_msg_idx: the index both
-- refused a second copy of a (sender, clientMsgId) and served the export of what one
-- user sent. The ChannelDO already gives each (sender, clientMsgId) one seq forever, so
-- the flush's upsert by (channel_id, seq) is idempotent without it, and the export finds
-- a sender's channels here instead: one row per sender and channel, written once.
CREATE TABLE `message_senders` (
	`sender_id` text NOT NULL,
	`channel_id` text NOT NULL,
	PRIMARY KEY(`sender_id`, `channel_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `message_senders` (`sender_id`, `channel_id`)
SELECT DISTINCT `sender_id`, `channel_id` FROM `messages`;
--> statement-breakpoint
DROP INDEX `messages_client_msg_idx`;
