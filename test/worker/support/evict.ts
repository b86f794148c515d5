import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";

import { channelStub, userStub } from "../../../durable/stubs";

export const channelStubOf = (channelId: string) => channelStub(env, channelId);
export const userStubOf = (userId: string) => userStub(env, userId);

/**
 * Evicts a Durable Object: its memory is gone, storage and hibernated sockets stay.
 * An idle object may already have hibernated, so it is woken first to make the
 * eviction certain rather than a no-op.
 */
export async function evict(stub: DurableObjectStub): Promise<void> {
  await runInDurableObject(stub, () => {});
  await evictDurableObject(stub);
}
