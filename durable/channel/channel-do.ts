import { DurableObject } from "cloudflare:workers";

export class ChannelDO extends DurableObject<Env> {}
