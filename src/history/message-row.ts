import { type FileMeta, type PresentFiles, unsignedFiles } from "../files/file-urls";
import type { Message, Reaction } from "../protocol/types";

/**
 * A message as both its stores keep it, the ChannelDO's SQLite and D1 (which adds
 * `channel_id`): the same columns, read the same way.
 */
export interface MessageRow {
  seq: number;
  sender_id: string;
  client_msg_id: string;
  /** Null where the ChannelDO pruned it (D1 has it). */
  text: string | null;
  ts: number;
  rev: number;
  edited_at: number | null;
  deleted: number;
  reply_to: number | null;
  reply_count: number;
  last_reply_at: number | null;
  /** `message.reactions` as JSON (counts and the first 20 users). */
  reactions: string | null;
  /** JSON of FileMeta[] (no URLs); null when the message has no files, or they were pruned with the text. */
  attachments: string | null;
  /** `message.mentions` as JSON (userIds); null when it mentions nobody. */
  mentions: string | null;
}

/** The wire message of a stored row; absent fields stay absent, files get their URLs from `presentFiles`. */
export function messageFromRow(r: MessageRow, channelId: string, presentFiles: PresentFiles = unsignedFiles): Message {
  const message: Message = {
    channelId,
    seq: r.seq,
    senderId: r.sender_id,
    clientMsgId: r.client_msg_id,
    text: r.text ?? "",
    ts: r.ts,
    rev: r.rev,
    ...(r.edited_at !== null ? { editedAt: r.edited_at } : {}),
    ...(r.deleted ? { deleted: true as const } : {}),
    ...(r.reply_to !== null ? { replyTo: r.reply_to } : {}),
    ...(r.reply_count > 0 ? { replyCount: r.reply_count } : {}),
    ...(r.last_reply_at !== null ? { lastReplyAt: r.last_reply_at } : {}),
    ...(r.reactions !== null ? { reactions: JSON.parse(r.reactions) as Reaction[] } : {}),
    ...(r.mentions ? { mentions: JSON.parse(r.mentions) as string[] } : {}),
  };
  if (r.attachments) message.attachments = presentFiles(JSON.parse(r.attachments) as FileMeta[]);
  return message;
}
