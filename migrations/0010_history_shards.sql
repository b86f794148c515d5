CREATE TABLE `history_shards` (
	`shard` integer PRIMARY KEY NOT NULL,
	`size_bytes` integer NOT NULL,
	`full` integer DEFAULT false NOT NULL,
	`measured_at` integer NOT NULL
);
