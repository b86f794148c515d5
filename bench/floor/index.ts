import type { FloorEnv } from "./env";

export { Member, RelayRoom } from "./relay";
export { Room } from "./room";

/**
 * /room/:id/ws?user=u            a socket in a one-room floor
 * /relay/:id/ws?user=u           a socket in a relay floor's room (the member watches it)
 * /relay/:id/member/:user/ws     a member's own socket, reached through the room's relay
 * /blob/:key                     PUT stores the body in R2 as it is, GET returns it
 */
const ROUTE = /^\/(room|relay)\/([\w-]{1,64})(?:\/member\/([\w-]{1,64}))?\/ws$/;

const BLOB = /^\/blob\/([\w-]{1,64})$/;

/** The least a Worker does to store a file in R2 and serve it: no checks, no records. */
async function blob(request: Request, env: FloorEnv, key: string): Promise<Response> {
  if (request.method === "PUT") {
    await env.BLOBS.put(key, request.body);
    return new Response(null, { status: 204 });
  }
  const object = await env.BLOBS.get(key);
  if (!object) return new Response("not found", { status: 404 });
  // With its length, as the service answers: a chunked answer would be another thing to compare.
  return new Response(object.body, { headers: { "content-length": String(object.size) } });
}

export default {
  async fetch(request, env): Promise<Response> {
    const blobKey = BLOB.exec(new URL(request.url).pathname)?.[1];
    if (blobKey) return blob(request, env, blobKey);
    const match = ROUTE.exec(new URL(request.url).pathname);
    if (!match) return new Response("not found", { status: 404 });
    if (request.headers.get("Upgrade") !== "websocket") return new Response("expected a websocket", { status: 426 });
    const [, kind, room, member] = match as unknown as [string, "room" | "relay", string, string | undefined];
    if (kind === "room") {
      if (member) return new Response("not found", { status: 404 });
      return env.ROOM.get(env.ROOM.idFromName(room)).fetch(request);
    }
    if (!member) return env.RELAY.get(env.RELAY.idFromName(room)).fetch(request);
    const url = new URL(request.url);
    url.search = new URLSearchParams({ user: member, room }).toString();
    return env.MEMBER.get(env.MEMBER.idFromName(member)).fetch(new Request(url, request));
  },
} satisfies ExportedHandler<FloorEnv>;
