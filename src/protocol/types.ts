/** The resources of PROTOCOL.md, as they travel on the wire. */

export interface Message {
  channelId: string;
  seq: number;
  senderId: string;
  clientMsgId: string;
  text: string;
  ts: number;
}

export type ChannelKind = "dm" | "group";
export type Visibility = "public" | "private";
export type Role = "owner" | "admin" | "member";

export interface Channel {
  id: string;
  kind: ChannelKind;
  name?: string;
  visibility: Visibility;
  createdAt: number;
}

export interface ChannelSummary extends Channel {
  lastSeq: number;
  readSeq: number;
  unread: number;
  lastMessage?: Message;
}

export interface Member {
  userId: string;
  role: Role;
}

/** The public `user` of PROTOCOL.md; absent optional fields are left out, not null. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  avatarUrl?: string;
  statusText?: string;
}
