import type { MiddlewareHandler, ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import type { z } from "zod";
import { describedAs } from "../openapi/describe";
import { ApiError } from "./errors";

/** A validation issue as Standard Schema reports it (zod's own issues are of this shape). */
interface Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/**
 * zod validation for one request part. A failure is always 400 `invalid_request`,
 * naming the first offending field, so clients get one error shape for every route.
 * The validator is hono-openapi's, so the same schema also describes the route in the
 * OpenAPI document.
 */
export function valid<T extends keyof ValidationTargets, S extends z.ZodType>(target: T, schema: S) {
  const check = validator(target, schema, (result) => {
    if (!result.success) throw invalidRequest({ issues: result.error });
  });
  if (target !== "json") return check;
  // Hono's JSON validator reads a body of another Content-Type as `{}`, which would let
  // a text/plain body pass as "no fields"; such a request is refused instead. The cast
  // keeps the validator's types, which `c.req.valid("json")` is inferred from.
  const guarded: MiddlewareHandler = async (c, next) => {
    requireJsonContentType(c.req.header("Content-Type"));
    return check(c, next);
  };
  return describedAs(guarded, check) as typeof check;
}

export function requireJsonContentType(contentType: string | undefined): void {
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType ?? "")) {
    throw new ApiError("invalid_request", "Content-Type must be application/json");
  }
}

export function invalidRequest(error: { readonly issues: readonly Issue[] }): ApiError {
  const issue = error.issues[0];
  const path = (issue?.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment));
  const where = path.length ? `${path.join(".")}: ` : "";
  return new ApiError("invalid_request", `${where}${issue?.message ?? "invalid input"}`);
}
