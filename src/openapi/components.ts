import * as z from "zod/mini";
import { ErrorBody } from "../protocol/errors";
import {
  AuthResponse,
  ChangesPage,
  Channel,
  ChannelKind,
  ChannelSummary,
  Member,
  Message,
  MessagePage,
  NotificationLevel,
  Presence,
  PresenceStatus,
  Role,
  SearchPage,
  SearchResult,
  TokenPair,
  User,
  Visibility,
} from "../protocol/types";

const message = {
  channelId: "g_3q2-7wEvYpA9xK1mZt0bQw",
  seq: 42,
  senderId: "u_Jx8cL2nWq0",
  clientMsgId: "m-1767225600000-1",
  text: "See you at nine, @grace?",
  ts: 1767225600000,
  rev: 57,
  editedAt: 1767225660000,
  mentions: ["u_Rk4pT9vYs2"],
};
const channel = {
  id: "g_3q2-7wEvYpA9xK1mZt0bQw",
  kind: "group",
  name: "Climbing",
  topic: "Saturday: the north wall",
  visibility: "private",
  createdAt: 1767139200000,
  memberCount: 12,
};

/**
 * The protocol's schemas (src/protocol, shared with the SDK and the web client) that the
 * document names as components: each is written out once and referenced wherever it
 * appears. Name and example go into zod's registry, which is where its JSON Schema
 * output reads them from; nothing else about the schemas changes. The examples stand in
 * for the numbers' bounds, which the reference page would otherwise show as examples.
 */
export const COMPONENTS: Record<string, { schema: z.ZodMiniType; example?: unknown }> = {
  AuthResponse: { schema: AuthResponse },
  ChangesPage: { schema: ChangesPage, example: { messages: [message], rev: 57, hasMore: false } },
  Channel: { schema: Channel, example: channel },
  ChannelKind: { schema: ChannelKind },
  ChannelSummary: {
    schema: ChannelSummary,
    example: {
      ...channel,
      lastSeq: 42,
      readSeq: 40,
      unread: 2,
      mentions: 1,
      lastMessage: message,
      notifications: "all",
    },
  },
  ErrorBody: { schema: ErrorBody },
  Member: { schema: Member, example: { userId: "u_Jx8cL2nWq0", role: "owner" } },
  Message: { schema: Message, example: message },
  NotificationLevel: { schema: NotificationLevel },
  MessagePage: { schema: MessagePage, example: { messages: [message], hasMore: false } },
  Presence: { schema: Presence, example: { userId: "u_Jx8cL2nWq0", status: "online", lastActiveAt: 1767225600000 } },
  PresenceStatus: { schema: PresenceStatus },
  Role: { schema: Role },
  SearchPage: { schema: SearchPage },
  SearchResult: {
    schema: SearchResult,
    example: { message, snippet: "See you at nine?", highlights: [[8, 12]] },
  },
  TokenPair: { schema: TokenPair },
  User: { schema: User, example: { id: "u_Jx8cL2nWq0", username: "ada", displayName: "Ada" } },
  Visibility: { schema: Visibility },
};

let named = false;

export function nameComponents(): void {
  if (named) return;
  for (const [id, { schema, example }] of Object.entries(COMPONENTS)) {
    z.globalRegistry.add(schema, example === undefined ? { id } : { id, examples: [example] });
  }
  named = true;
}
