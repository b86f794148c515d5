import { DurableObject } from "cloudflare:workers";
import type { Channel, Message } from "../../src/protocol/types";

export class UserDO extends DurableObject<Env> {
  async deliver(_channel: Channel, _messages: readonly Message[]): Promise<void> {}
}
