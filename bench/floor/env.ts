import type { Member, RelayRoom } from "./relay";
import type { Room } from "./room";

export interface FloorEnv {
  ROOM: DurableObjectNamespace<Room>;
  RELAY: DurableObjectNamespace<RelayRoom>;
  MEMBER: DurableObjectNamespace<Member>;
  BLOBS: R2Bucket;
}
