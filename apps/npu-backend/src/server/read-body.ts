/** A request body as JSON, validated with its wire schema (400 naming the field otherwise). */
import { parseJson, parseRequest } from "@gearbox/shared";
import type { Context } from "hono";
import type { z } from "zod";

export async function readRequest<Schema extends z.ZodType>(
  c: Context,
  schema: Schema,
): Promise<z.output<Schema>> {
  return parseRequest(schema, parseJson(await c.req.text()));
}
