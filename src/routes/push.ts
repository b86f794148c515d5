import { Hono } from "hono";
import { describeRoute, resolver } from "hono-openapi";
import { z } from "zod";
import { userStub } from "../../durable/stubs";
import { config } from "../config";
import type { AppEnv } from "../http/app-env";
import { requireAuth } from "../http/auth-middleware";
import { ApiError } from "../http/errors";
import { invalidRequest, requireJsonContentType } from "../http/validate";
import { errors, jsonAnswer, noContent } from "../openapi/describe";
import { DEFAULT_PUSH_ALLOWED_HOSTS, parseAllowedHosts } from "../push/allowed-hosts";
import { PushEndpointToRemove, pushEndpointPolicy, pushSubscriptionSchema } from "../push/subscription";

/** Parses a JSON body against a schema that depends on configuration (the endpoint policy). */
async function body<S extends z.ZodType>(
  req: { json: () => Promise<unknown>; header: (name: string) => string | undefined },
  schema: S,
): Promise<z.infer<S>> {
  requireJsonContentType(req.header("Content-Type"));
  let json: unknown;
  try {
    json = await req.json();
  } catch {
    throw new ApiError("invalid_request", "Malformed JSON in request body");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidRequest(parsed.error);
  return parsed.data;
}

/** A JSON request body; these routes validate it themselves (the schema depends on configuration). */
function jsonBody(schema: z.ZodType) {
  return { required: true, content: { "application/json": { schema: resolver(schema) } } };
}

/** What production allows; the rule is a refinement, so the document's schema is the same for any policy. */
const PRODUCTION_POLICY = { allowedHosts: parseAllowedHosts(DEFAULT_PUSH_ALLOWED_HOSTS), allowLoopback: false };
const ENDPOINT_NOTE =
  "The endpoint must be an `https:` URL of a known push service (PUSH_ALLOWED_HOSTS); " +
  "PUSH_ALLOW_INSECURE_ENDPOINTS (local testing only) also allows loopback.";

/** What the OpenAPI document says of each route beyond its middleware. */
const docs = {
  vapidKey: describeRoute({
    tags: ["push"],
    operationId: "getVapidPublicKey",
    summary: "The server's VAPID public key, for PushManager.subscribe",
    responses: { 200: jsonAnswer("The key (base64url)", z.object({ publicKey: z.string() })) },
  }),
  subscribe: describeRoute({
    tags: ["push"],
    operationId: "addPushSubscription",
    summary: "Add (or update) a browser's push subscription",
    description: `The subscription belongs to the calling device: signing that device out removes it. A user keeps at most 20 subscriptions; the oldest is dropped. ${ENDPOINT_NOTE}`,
    requestBody: jsonBody(pushSubscriptionSchema(PRODUCTION_POLICY)),
    responses: {
      201: jsonAnswer("Subscribed", z.object({ endpoint: z.string() })),
      ...errors("invalid_request"),
    },
  }),
  unsubscribe: describeRoute({
    tags: ["push"],
    operationId: "removePushSubscription",
    summary: "Remove a push subscription",
    description: "204 whether or not the endpoint was known.",
    requestBody: jsonBody(z.object({ endpoint: PushEndpointToRemove })),
    responses: { 204: noContent("Removed"), ...errors("invalid_request") },
  }),
};

export const pushRoutes = new Hono<AppEnv>()
  .get("/vapid-public-key", docs.vapidKey, (c) => c.json({ publicKey: c.env.VAPID_PUBLIC_KEY }))
  .post("/subscriptions", docs.subscribe, requireAuth, async (c) => {
    const sub = await body(c.req, pushSubscriptionSchema(pushEndpointPolicy(config(c.env))));
    await userStub(c.env, c.var.auth.userId).addPushSubscription(sub, c.var.auth.deviceId);
    return c.json({ endpoint: sub.endpoint }, 201);
  })
  .delete("/subscriptions", docs.unsubscribe, requireAuth, async (c) => {
    const { endpoint } = await body(c.req, z.object({ endpoint: PushEndpointToRemove }));
    await userStub(c.env, c.var.auth.userId).removePushSubscription(endpoint);
    return c.body(null, 204);
  });
