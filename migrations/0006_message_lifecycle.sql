ALTER TABLE `messages` ADD `rev` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `edited_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `deleted` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_to` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `last_reply_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `reactions` text;--> statement-breakpoint
-- Messages stored before revs were their only change: the ChannelDO gives them rev = seq.
UPDATE `messages` SET `rev` = `seq`;
