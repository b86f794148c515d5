CREATE TABLE `user_blocks` (
	`blocker_id` text NOT NULL,
	`blocked_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`blocker_id`, `blocked_id`),
	FOREIGN KEY (`blocker_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`blocked_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `user_blocks_blocked_idx` ON `user_blocks` (`blocked_id`);--> statement-breakpoint
DROP INDEX `messages_client_msg_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `messages_client_msg_idx` ON `messages` (`sender_id`,`channel_id`,`client_msg_id`);--> statement-breakpoint
ALTER TABLE `devices` ADD `last_seen_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `erased_at` integer;