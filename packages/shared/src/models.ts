/** GET /v1/models on the wire. */
import { z } from "zod";

export const modelSchema = z.object({
  id: z.string(),
  created: z.int(),
  object: z.literal("model"),
  owned_by: z.string(),
});
export type Model = z.infer<typeof modelSchema>;

export const modelListSchema = z.object({
  object: z.literal("list"),
  data: z.array(modelSchema),
});
export type ModelList = z.infer<typeof modelListSchema>;
