ALTER TABLE `channels` ADD `name_key` text;--> statement-breakpoint
ALTER TABLE `channels` ADD `topic` text;--> statement-breakpoint
ALTER TABLE `channels` ADD `member_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `channels_public_size_idx` ON `channels` (`member_count`,`id`) WHERE visibility = 'public';--> statement-breakpoint
CREATE INDEX `channels_public_name_idx` ON `channels` (`name_key`,`member_count`,`id`) WHERE visibility = 'public';