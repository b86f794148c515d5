import type { FloorEnv } from "./env";

export { Member, RelayRoom } from "./relay";
export { Room } from "./room";

/**
 * /room/:id/ws?user=u            a socket in a one-room floor
 * /relay/:id/ws?user=u           a socket in a relay floor's room (the member watches it)
 * /relay/:id/member/:user/ws     a member's own socket, reached through the room's relay
 */
const ROUTE = /^\/(room|relay)\/([\w-]{1,64})(?:\/member\/([\w-]{1,64}))?\/ws$/;

export default {
  async fetch(request, env): Promise<Response> {
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
