-- Custom migration: fills the columns 0002 added for channels made before it. SQLite's
-- lower() folds only ASCII; names written from now on get JavaScript's full lower case
-- (src/channels/d1-membership.ts), and a rename rewrites the key.
UPDATE `channels` SET `name_key` = lower(`name`) WHERE `name` IS NOT NULL;
--> statement-breakpoint
UPDATE `channels` SET `member_count` = (SELECT count(*) FROM `channel_members` WHERE `channel_members`.`channel_id` = `channels`.`id`);
